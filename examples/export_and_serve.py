r"""Train briefly, export every format, call each runtime, and build TF Serving's requests.

1. Train ResNet-20 on the embedded digits for a few epochs (`keras_resnet.tools.train`).
2. Export SavedModel, TFLite (float32, float16, dynamic, int8) and ONNX (float32, int8), each
   verified.
3. Classify the same test images in every runtime and print the top-1 agreement.
4. Write the exact requests TF Serving accepts for this SavedModel: the REST body
   (`requests/predict.json`, POST to /v1/models/<name>:predict) and the gRPC PredictRequest
   (`requests/predict_request.pb`, for PredictionService/Predict on port 8500). Each is replayed
   through the SavedModel's signature here the way TF Serving decodes it, so they are known good.

    python examples/export_and_serve.py --out /tmp/serve
    docker run --rm -p 8501:8501 -v /tmp/serve/saved_models/digits:/models/digits \
        -e MODEL_NAME=digits tensorflow/serving
    curl -s -X POST localhost:8501/v1/models/digits:predict -d @/tmp/serve/requests/predict.json
"""

import argparse
import json
import os

import numpy as np
import tensorflow as tf

from keras_resnet.tools import data as data_lib
from keras_resnet.tools import runtimes
from keras_resnet.tools.train import TrainConfig, train


def rest_body(images):
    """TF Serving's REST "row" format: one instance per image; the signature has one input."""
    return {"signature_name": "serving_default", "instances": images.astype(int).tolist()}


def grpc_request(images, model_name):
    """A PredictRequest for TF Serving's gRPC PredictionService."""
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = "serving_default"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images.astype("float32")))
    return request


def main(argv=None, verbose=True):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="serve")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--name", default="digits")
    args = parser.parse_args(argv)

    exports = os.path.join(args.out, "saved_models")
    train(
        TrainConfig(
            data="digits",
            epochs=args.epochs,
            batch_size=64,
            out=os.path.join(args.out, "runs", args.name),
            export=exports,
            verbose=0,
        )
    )
    version = os.path.join(
        exports, args.name, max(os.listdir(os.path.join(exports, args.name)), key=int)
    )
    manifest = json.load(open(os.path.join(version, "manifest.json")))

    test_set, _ = data_lib.load("digits", "test")
    images, labels = next(iter(test_set.batch(16)))
    images, labels = images.numpy().astype("float32"), labels.numpy()
    reference = runtimes.open_model(os.path.join(args.out, "runs", args.name), "keras")(
        images
    ).argmax(-1)
    agreement = {}
    for kind, file in manifest["files"].items():
        path = version if kind == "saved_model" else os.path.join(version, file)
        predictions = runtimes.open_model(path)(images).argmax(-1)
        agreement[kind] = float((predictions == reference).mean())
        if verbose:
            print(
                f"{kind:16s} top-1 agreement with Keras {agreement[kind]:.3f}, "
                f"accuracy {(predictions == labels).mean():.3f}"
            )

    requests = os.path.join(args.out, "requests")
    os.makedirs(requests, exist_ok=True)
    body = rest_body(images[:2])
    with open(os.path.join(requests, "predict.json"), "w") as file:
        json.dump(body, file)
    request = grpc_request(images[:2], args.name)
    with open(os.path.join(requests, "predict_request.pb"), "wb") as file:
        file.write(request.SerializeToString())

    # Replay both as TF Serving decodes them, through the signature it serves.
    signature = tf.saved_model.load(version).signatures["serving_default"]
    dtype = signature.structured_input_signature[1]["images"].dtype
    from_rest = signature(images=tf.constant(body["instances"], dtype=dtype))
    from_grpc = signature(images=tf.cast(tf.make_ndarray(request.inputs["images"]), dtype))
    top = from_rest["top_classes"].numpy()[:, 0]
    if not np.array_equal(top, from_grpc["top_classes"].numpy()[:, 0]) or not np.array_equal(
        top, reference[:2]
    ):
        raise AssertionError(
            "the REST and gRPC requests do not reproduce the Keras model's top classes"
        )
    if verbose:
        print(
            f"requests in {requests}: REST and gRPC both give top classes {top.tolist()} "
            f"({[name.decode() for name in from_rest['top_names'].numpy()[:, 0]]})"
        )
    return {"version": version, "agreement": agreement, "top_classes": top.tolist()}


if __name__ == "__main__":
    main()
