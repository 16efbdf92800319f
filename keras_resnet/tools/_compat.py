"""The private APIs of Keras and LiteRT that the tools need where no public one exists, in one
place: `tests/tools/test_compat.py` fails the day one of them changes, so a Keras or LiteRT
upgrade shows at once what to port, instead of in a run.
"""

# Keras' global seed (`keras.utils.set_random_seed`) and the generator it seeds: Keras has a
# setter and no getter, so a run that seeds itself could not hand the process back as it found it.
_KERAS_SEED_ATTRIBUTES = ("global_random_seed", "global_seed_generator")


def keras_seed_state() -> dict:
    """Keras' global seed state, for `restore_keras_seed_state`."""
    from keras.src.backend.common import global_state

    return {key: global_state.get_global_attribute(key) for key in _KERAS_SEED_ATTRIBUTES}


def restore_keras_seed_state(state: dict) -> None:
    """Puts back what `keras_seed_state` returned."""
    from keras.src.backend.common import global_state

    for key, value in state.items():
        global_state.set_global_attribute(key, value)


def litert_op_names(interpreter) -> list[str]:
    """The operators an allocated LiteRT interpreter runs, in order, after delegation: a
    "DELEGATE" for each piece XNNPACK took over. LiteRT has no public listing of the executed
    graph (the file's own operator list shows nothing of the delegation)."""
    return [op["op_name"] for op in interpreter._get_ops_details()]
