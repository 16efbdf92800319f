"""Running a model in each runtime it is deployed to, behind one interface.

`open_model(path)` picks the runtime from the file: Keras (`.keras` or a run folder), TensorFlow
(a SavedModel folder), LiteRT (`.tflite`) or onnxruntime (`.onnx`). Each `Predictor` takes a
batch of images as the export's input expects them and returns float32 logits (or features,
for a model without a classifier head), so that exports can be compared with the Keras model.
"""

import os

import keras
import numpy as np

from keras_resnet.files import read_json
from keras_resnet.models import load_model
from keras_resnet.tools import require
from keras_resnet.tools._compat import litert_op_names
from keras_resnet.tools.export_network import logits_model

FORMATS = ("keras", "saved_model", "saved_model_tf1", "tflite", "onnx")
MANIFEST = "manifest.json"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits, over the last axis (exports return logits)."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class Predictor:
    """A loaded model. Subclasses set `input_shape` (height, width, channels), `input_dtype`
    and implement `_run`; `__call__` checks the batch first."""

    format = ""
    input_shape: tuple = ()
    input_dtype = "float32"

    def __init__(self, path, manifest=None):
        self.path = os.fspath(path)
        self.manifest = manifest or {}
        self.class_names = self.manifest.get("class_names")

    @property
    def preparation(self) -> dict:
        """How evaluation images are prepared for this model, from its manifest (or run's
        config): the training recipe, and the imagenet recipe's resize and crop."""
        return {
            "recipe": self.manifest.get("recipe") or "none",
            **self.manifest.get("eval_transform", {}),
        }

    def __call__(self, images) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim != 4 or tuple(images.shape[1:]) != tuple(self.input_shape):
            raise ValueError(
                f"`images` must have shape (batch, {', '.join(map(str, self.input_shape))}) for "
                f"{self.path}; received shape {images.shape}."
            )
        if self.input_dtype == "uint8" and images.dtype != np.uint8:
            images = np.clip(np.round(images), 0, 255)
        return np.asarray(self._run(images.astype(self.input_dtype)), dtype=np.float32)

    def _run(self, images):
        raise NotImplementedError


class KerasPredictor(Predictor):
    """A Keras model (or `.keras` file) through a compiled `tf.function` of its logits."""

    format = "keras"

    def __init__(self, model, manifest=None):
        from keras_resnet.tools._tensorflow import tf

        if not isinstance(model, keras.Model):
            path = model
            model = load_model(path)
        else:
            path = model.name
        super().__init__(path, manifest)
        self.keras_model = model  # as loaded; `model` is its float32 logits copy that runs here
        self.model = logits_model(model)
        self.input_shape = tuple(self.model.input_shape[1:])
        self._function = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)

    def _run(self, images):
        return self._function(images).numpy()


class SavedModelPredictor(Predictor):
    """A SavedModel's `serving_default` signature, through TF2's loader."""

    format = "saved_model"

    def __init__(self, path, manifest=None):
        from keras_resnet.tools._tensorflow import tf

        super().__init__(path, manifest)
        self._function = tf.saved_model.load(self.path).signatures["serving_default"]
        ((name, spec),) = self._function.structured_input_signature[1].items()
        self.input_name, self.input_shape, self.input_dtype = (
            name,
            tuple(spec.shape[1:]),
            spec.dtype.name,
        )
        outputs = self._function.structured_outputs
        self.output_name = "logits" if "logits" in outputs else next(iter(outputs))

    def _run(self, images):
        return self._function(**{self.input_name: images})[self.output_name].numpy()


class SavedModelV1Predictor(Predictor):
    """A SavedModel through TF1's loader (`tf.compat.v1.saved_model.load`), as TF Serving
    loads it."""

    format = "saved_model_tf1"

    def __init__(self, path, manifest=None):
        from keras_resnet.tools._tensorflow import tf

        super().__init__(path, manifest)
        self._graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=self._graph)
        with self._graph.as_default():
            meta_graph = tf.compat.v1.saved_model.load(self._session, ["serve"], self.path)
        signature = meta_graph.signature_def["serving_default"]
        ((self.input_name, tensor),) = signature.inputs.items()
        shape = [dim.size for dim in tensor.tensor_shape.dim]
        self.input_shape, self.input_dtype = tuple(shape[1:]), tf.dtypes.as_dtype(tensor.dtype).name
        self._input = tensor.name
        outputs = signature.outputs
        self._output = outputs["logits" if "logits" in outputs else next(iter(outputs))].name

    def _run(self, images):
        return self._session.run(self._output, {self._input: images})


class LiteRTPredictor(Predictor):
    """A `.tflite` file through the LiteRT interpreter (XNNPACK), quantising uint8/int8 inputs
    and dequantising outputs with the file's own parameters."""

    format = "tflite"

    def __init__(self, path, manifest=None, num_threads=None):
        interpreter = require("ai_edge_litert.interpreter", "export")

        super().__init__(path, manifest)
        self.interpreter = interpreter.Interpreter(
            model_path=self.path, num_threads=num_threads or os.cpu_count()
        )
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self.input_shape = tuple(int(d) for d in self._input["shape"][1:])
        self.input_dtype = np.dtype(self._input["dtype"]).name
        self._batch = None
        self.interpreter.allocate_tensors()

    def _run(self, images):
        if len(images) != self._batch:
            self.interpreter.resize_tensor_input(self._input["index"], images.shape)
            self.interpreter.allocate_tensors()
            self._batch = len(images)
        scale, zero_point = self.input_quantization
        if scale and (scale, zero_point) != (1.0, 0):
            info = np.iinfo(self._input["dtype"])
            images = np.clip(np.round(images / scale + zero_point), info.min, info.max).astype(
                self._input["dtype"]
            )
        self.interpreter.set_tensor(self._input["index"], images)
        self.interpreter.invoke()
        outputs = self.interpreter.get_tensor(self._output["index"])
        scale, zero_point = self._output["quantization"]
        return (outputs.astype(np.float32) - zero_point) * scale if scale else outputs

    @property
    def input_quantization(self) -> tuple[float, int]:
        """The input's (scale, zero point): real value = scale * (stored - zero point); (0.0, 0)
        for a float input, (1.0, 0) for the int8 file's raw uint8 pixels."""
        scale, zero_point = self._input["quantization"]
        return float(scale), int(zero_point)

    def ops(self) -> dict:
        """The file's operators (built-in ones only, when exported here) and the number of
        XNNPACK partitions (1: XNNPACK runs the whole graph in one piece)."""
        names = litert_op_names(self.interpreter)
        return {
            "ops": sorted(set(names) - {"DELEGATE"}),
            "xnnpack_partitions": names.count("DELEGATE"),
        }


class OnnxPredictor(Predictor):
    """An `.onnx` file through onnxruntime's CPU provider, on as many threads as LiteRT gets."""

    format = "onnx"

    def __init__(self, path, manifest=None, num_threads=None):
        onnxruntime = require("onnxruntime", "export")

        super().__init__(path, manifest)
        options = onnxruntime.SessionOptions()
        # onnxruntime's default is one thread per physical core; set it like LiteRT's, so that
        # the benchmark compares kernels, not thread counts.
        options.intra_op_num_threads = num_threads or os.cpu_count()
        self.session = onnxruntime.InferenceSession(
            self.path, options, providers=["CPUExecutionProvider"]
        )
        spec = self.session.get_inputs()[0]
        self.input_name, self.input_shape = spec.name, tuple(spec.shape[1:])
        self.input_dtype = {"tensor(float)": "float32", "tensor(uint8)": "uint8"}[spec.type]
        names = [output.name for output in self.session.get_outputs()]
        self.output_name = "logits" if "logits" in names else names[0]

    def _run(self, images):
        return self.session.run([self.output_name], {self.input_name: images})[0]

    def ops(self) -> dict:
        """The file's operators, its QuantizeLinear and DequantizeLinear nodes (a QDQ file's
        quantisation), and the operators left in float: fed by no DequantizeLinear."""
        onnx = require("onnx", "export")

        graph = onnx.load(self.path).graph
        producers = {output: node.op_type for node in graph.node for output in node.output}
        quantizers = ("QuantizeLinear", "DequantizeLinear")
        names = [node.op_type for node in graph.node]
        float_ops = [
            node.op_type
            for node in graph.node
            if node.op_type not in quantizers
            and node.input
            and producers.get(node.input[0]) != "DequantizeLinear"
        ]
        return {
            "ops": sorted(set(names) - set(quantizers)),
            "quantize_linear": names.count("QuantizeLinear"),
            "dequantize_linear": names.count("DequantizeLinear"),
            "float_ops": sorted(float_ops),
        }


def _manifest_for(path):
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    for candidate in (os.path.join(folder, MANIFEST), os.path.join(folder, "config.json")):
        if os.path.exists(candidate):
            manifest = read_json(candidate)
            if (
                "classes" in manifest and "class_names" not in manifest
            ):  # a run folder's config.json
                manifest["class_names"] = manifest["classes"]
            return manifest
    return {}


def model_format(path) -> str:
    """The runtime format of a model file or folder, from its name and contents."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "saved_model.pb")):
            return "saved_model"
        if any(os.path.exists(os.path.join(path, name)) for name in ("best.keras", "last.keras")):
            return "keras"
    elif os.path.isfile(path):
        for suffix, name in ((".keras", "keras"), (".tflite", "tflite"), (".onnx", "onnx")):
            if path.endswith(suffix):
                return name
    else:
        raise FileNotFoundError(
            f"`model` must be an existing file or folder; received model={path!r}."
        )
    raise ValueError(
        "`model` must be a .keras file, a run folder, a SavedModel folder, a .tflite or an .onnx "
        f"file; received model={path!r}, which is none of these."
    )


def open_model(path, runtime: str | None = None) -> Predictor:
    """Loads a model file or folder in its runtime.

    Args:
        path: a `.keras` file, a run folder (its best.keras), a SavedModel folder, a `.tflite`
            or an `.onnx` file. Class names come from the manifest beside it (or the run's config).
        runtime: force one of `FORMATS`, e.g. "saved_model_tf1" for TF Serving's loader.

    Example:
        >>> predictor = open_model("saved_models/resnet20/1/model_int8.tflite")  # doctest: +SKIP
        >>> logits = predictor(images)  # doctest: +SKIP
    """
    path = os.fspath(path)
    detected = model_format(path)
    runtime = runtime or detected
    if runtime not in FORMATS:
        raise ValueError(f"`runtime` must be one of {FORMATS}; received runtime={runtime!r}.")
    manifest = _manifest_for(path)
    if runtime == "keras" and os.path.isdir(path):
        path = next(
            os.path.join(path, name)
            for name in ("best.keras", "last.keras")
            if os.path.exists(os.path.join(path, name))
        )
    loader = {
        "keras": KerasPredictor,
        "saved_model": SavedModelPredictor,
        "saved_model_tf1": SavedModelV1Predictor,
        "tflite": LiteRTPredictor,
        "onnx": OnnxPredictor,
    }[runtime]
    return loader(path, manifest)
