"""One training script on one device, on all devices of a machine, and on several machines.

    python examples/distributed.py --strategy one_device
    # all GPUs; on a CPU, 2 logical devices
    python examples/distributed.py --strategy mirrored --cpu-replicas 2
    # two local worker processes
    python examples/distributed.py --strategy multi_worker --workers 2

What changes between them is only the `tf.distribute` strategy; `keras_resnet.tools.train` builds
and compiles the model inside `strategy.scope()`, scales the learning rate with the global batch,
and uses synchronized BatchNorm whenever there is more than one replica.

MultiWorkerMirroredStrategy learns the cluster from the `TF_CONFIG` environment variable, a
JSON object that every worker gets, identical except for its own `task`:

    {"cluster": {"worker": ["host1:12345", "host2:12345"]},  # every worker, same order everywhere
     "task": {"type": "worker", "index": 0}}                 # who I am: worker 0 is the chief

Run the same command on every machine, with the same `--out` on a shared filesystem: the chief
(worker 0) writes the run folder, and every worker resumes from it after a failure. With
`--workers N` this script plays the whole cluster on one machine: it starts N copies of itself
on 127.0.0.1, each with its own TF_CONFIG.
"""

import argparse
import json
import os
import socket
import subprocess
import sys


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_local_cluster(workers, argv):
    """Starts `workers` copies of this script, each with its TF_CONFIG; returns their outputs."""
    cluster = {"worker": [f"127.0.0.1:{free_port()}" for _ in range(workers)]}
    processes = []
    for index in range(workers):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, __file__, *argv, "--workers", "0"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [process.communicate()[0] for process in processes]
    for index, process in enumerate(processes):
        if process.returncode:
            raise RuntimeError(f"worker {index} failed:\n{outputs[index][-3000:]}")
    return outputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--strategy", choices=["one_device", "mirrored", "multi_worker"], default="one_device"
    )
    parser.add_argument(
        "--cpu-replicas", type=int, help="split the CPU into this many logical devices (mirrored)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="multi_worker: local workers to start (0: I am one)"
    )
    parser.add_argument("--data", default="digits")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--batch-size", type=int, default=64, help="global: split over all replicas"
    )
    parser.add_argument("--out", default="runs/distributed")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)

    if args.strategy == "multi_worker" and args.workers:
        outputs = launch_local_cluster(args.workers, argv)
        results = [
            json.loads(line.split(" ", 1)[1])
            for output in outputs
            for line in output.splitlines()
            if line.startswith("metrics ")
        ]
        print(f"metrics {json.dumps(results[0])}  ({args.workers} workers; the chief's evaluation)")
        return results[0]

    # After the launcher: logical devices must be set before TensorFlow initialises.
    import tensorflow as tf

    if args.cpu_replicas:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.cpu_replicas
        )
    from keras_resnet.tools.train import TrainConfig, train

    out = os.path.join(args.out, args.strategy)
    metrics = train(
        TrainConfig(
            data=args.data,
            epochs=args.epochs,
            batch_size=args.batch_size,
            strategy=args.strategy,
            out=out,
            export=None,
            verbose=0,
        )
    )
    print(
        "metrics " + json.dumps({key: round(value, 4) for key, value in metrics.items()}),
        flush=True,
    )
    return metrics


if __name__ == "__main__":
    main()
