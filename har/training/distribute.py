"""Training past one device with TensorFlow's own engine, tf.distribute: strategies, shards.

`default` trains as before (Keras fit, one device). `mirrored` is MirroredStrategy (every
local GPU, else the CPU); `multiworker` is MultiWorkerMirroredStrategy, configured by the
standard TF_CONFIG variable, so any launcher that sets it (Kubernetes, Slurm, a shell loop)
runs the same command. Each worker extracts and feeds only its share of the clips.

Keras 3's `fit` cannot reduce its logs under MultiWorkerMirroredStrategy (tensorflow#72388),
so strategies train with the small custom loop below: the same model, Adam, loss and early
stopping, with gradients and metrics summed across every replica of every worker.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from har.errors import TrainingError
from har.utils.files import atomic_path
from har.utils.quiet import import_tensorflow

STRATEGIES = ("default", "mirrored", "multiworker")
ROLES = ("chief", "worker")  # the tasks that train (not parameter servers or evaluators)
TIMEOUT_ENV = "HAR_DIST_TIMEOUT"  # seconds a collective, a heartbeat or start-up may take
DEFAULT_TIMEOUT = 120
WEIGHTS_ENV = "HAR_WORKER_WEIGHTS_DIR"  # if set, every worker dumps its trained weights here


@dataclass(frozen=True)
class Shard:
    """This worker's share of the data: every `count`-th clip from `index`; test on the chief."""

    index: int
    count: int
    chief: bool

    def take(self, items: Sequence) -> list:
        return list(items[self.index :: self.count])


def timeout_seconds() -> int:
    """The collective / heartbeat / start-up timeout, from HAR_DIST_TIMEOUT (default 120 s)."""
    value = os.environ.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT))
    try:
        seconds = int(float(value))
    except ValueError:
        raise TrainingError(f"{TIMEOUT_ENV}={value!r} is not a number of seconds.") from None
    if seconds < 1:
        raise TrainingError(f"{TIMEOUT_ENV} must be at least 1 second, not {seconds}.")
    return seconds


def read_tf_config() -> dict:
    """TF_CONFIG parsed and checked: {"cluster": {"worker": [...], ...}, "task": {...}}."""
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        raise TrainingError(
            "--strategy multiworker needs TF_CONFIG (the cluster's addresses and this "
            "worker's index); see docs/distributed.md."
        )
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        kind, index = task["type"], int(task["index"])
        members = cluster[kind]
    except (ValueError, KeyError, TypeError) as exc:
        raise TrainingError(
            f"TF_CONFIG is not a valid cluster description ({exc}); see docs/distributed.md."
        ) from None
    if kind not in ("worker", "chief") or not 0 <= index < len(members):
        raise TrainingError(
            f"TF_CONFIG task {kind}:{index} is not a chief or worker of its cluster."
        )
    return config


def tf_config_is_chief(config: dict) -> bool:
    """The chief is task chief:0, or worker:0 when no chief is listed (TensorFlow's rule)."""
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and int(task["index"]) == 0


def make_strategy(name: str):
    """The tf.distribute strategy for `name`, or None for "default" (plain Keras fit)."""
    if name not in STRATEGIES:
        raise TrainingError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    if name == "default":
        return None
    tf = import_tensorflow(run_op=False)

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    config = read_tf_config()
    seconds = timeout_seconds()
    _configure_coordination(config, seconds)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=seconds)
    # Forming the cluster waits for every worker with no timeout of its own: watch it.
    with watchdog(seconds, "not every worker in TF_CONFIG joined within"):
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def _configure_coordination(config: dict, seconds: int) -> None:
    """Heartbeats that notice a dead worker within `seconds` (TensorFlow's default is longer)."""
    try:
        from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2 as pb
        from tensorflow.python.eager import context
    except ImportError:  # another TensorFlow layout: keep its defaults
        return
    cluster = config["cluster"]
    leader = "chief" if "chief" in cluster else "worker"
    jobs = [pb.CoordinatedJob(name=j, num_tasks=len(cluster[j])) for j in cluster if j in ROLES]
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=f"/job:{leader}/replica:0/task:0",
        cluster_register_timeout_in_ms=seconds * 1000,
        heartbeat_timeout_in_ms=seconds * 1000,
        shutdown_barrier_timeout_in_ms=seconds * 1000,
        coordinated_jobs=jobs,
    )


_WATCHER = """
import os, select, signal, sys
pid, seconds, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
if not select.select([sys.stdin], [], [], seconds)[0]:
    sys.stderr.write(message + "\\n")
    sys.stderr.flush()
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
"""


class watchdog:
    """Kill this process with a clear message if the block takes longer than `seconds`.

    A separate tiny process keeps the time: TensorFlow waits for a missing peer inside C++
    holding the GIL, where neither a Python thread nor a signal handler would ever run.
    """

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds = seconds
        self.message = (
            f"error: {what} {seconds:g} s; check that every worker is running and reachable "
            f"(TF_CONFIG, ports), or raise {TIMEOUT_ENV}."
        )
        self._proc = None

    def __enter__(self) -> watchdog:
        args = [sys.executable, "-c", _WATCHER, str(os.getpid()), str(self.seconds), self.message]
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE)
        return self

    def __exit__(self, *exc) -> None:
        self._proc.stdin.close()  # end of input: the watcher leaves quietly
        self._proc.wait()


def worker_count(strategy) -> int:
    """Processes taking part: 1 unless multi-worker."""
    return int(getattr(strategy.extended, "_num_workers", 1)) if strategy is not None else 1


def is_chief(strategy) -> bool:
    """True for the one process that saves models and cards (always, without a cluster)."""
    if strategy is None or worker_count(strategy) == 1:
        return True
    return bool(strategy.cluster_resolver is None or _resolver_is_chief(strategy))


def _resolver_is_chief(strategy) -> bool:
    resolver = strategy.cluster_resolver
    return tf_config_is_chief(
        {
            "cluster": resolver.cluster_spec().as_dict(),
            "task": {"type": resolver.task_type, "index": resolver.task_id},
        }
    )


def worker_shard(strategy) -> Shard | None:
    """This process's share of the clips, or None when one process sees everything."""
    count = worker_count(strategy)
    if count == 1:
        return None
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec().as_dict()
    order = [("chief", i) for i in range(len(spec.get("chief", [])))]
    order += [("worker", i) for i in range(len(spec.get("worker", [])))]
    index = order.index((resolver.task_type, int(resolver.task_id)))
    return Shard(index, count, is_chief(strategy))


def to_dict(strategy, per_replica_batch: int) -> dict:
    """What a card records: strategy, workers, replicas, per-replica and global batch."""
    if strategy is None:
        return {
            "strategy": "default",
            "workers": 1,
            "replicas": 1,
            "global_batch_size": per_replica_batch,
        }
    import tensorflow as tf

    name = (
        "multiworker"
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        else "mirrored"
    )
    replicas = int(strategy.num_replicas_in_sync)
    return {
        "strategy": name,
        "workers": worker_count(strategy),
        "replicas": replicas,
        "global_batch_size": per_replica_batch * replicas,
    }


def summary(strategy, per_replica_batch: int) -> str:
    """One line for the terminal: strategy, workers, replicas, global batch, this worker."""
    d = to_dict(strategy, per_replica_batch)
    shard = worker_shard(strategy)
    who = f"; worker {shard.index} of {shard.count}" if shard is not None else ""
    return (
        f"strategy {d['strategy']}: {d['workers']} worker(s), {d['replicas']} replica(s), "
        f"global batch {d['global_batch_size']} ({per_replica_batch} per replica)"
        f"{who}{' (chief)' if is_chief(strategy) else ''}"
    )


def lost_worker_error(exc: Exception) -> TrainingError:
    """The one sentence for a collective that failed because a peer died or stalled."""
    first = str(exc).strip().splitlines()
    detail = next((line for line in first if "aborted" in line.lower()), first[0] if first else "")
    return TrainingError(
        f"Lost contact with another worker ({type(exc).__name__}: {detail[:160]}); "
        "a worker stopped or the network failed. Restart every worker to train again."
    )


def _lost_worker_errors() -> tuple[type[Exception], ...]:
    import tensorflow as tf

    return (
        tf.errors.UnavailableError,
        tf.errors.DeadlineExceededError,
        tf.errors.AbortedError,
        tf.errors.CancelledError,
        tf.errors.InternalError,
    )


def wait_for_workers(strategy, hours: float = 24.0) -> None:
    """Wait until every worker gets here (no collective timeout; a dead peer still fails it).

    Frame extraction can take far longer than a collective may, and one worker's share may
    be slower than another's, so the first collective waits here instead.
    """
    if worker_count(strategy) == 1:
        return
    from tensorflow.python.eager import context

    waiting = getattr(context.context(), "wait_at_barrier", None)
    if waiting is not None:
        waiting("har-data-loaded", int(hours * 3600 * 1000))


def _max_over_workers(strategy, values: Sequence[int]) -> list[int]:
    """Each value's maximum over every worker (a collective; also a 'data loaded' barrier)."""
    import tensorflow as tf

    local = tf.constant([list(values)], tf.int64)

    @tf.function  # eager collectives warn of their overhead
    def gather():
        return tf.reduce_max(strategy.gather(strategy.run(lambda: local), axis=0), axis=0)

    return [int(v) for v in gather().numpy()]


def _padded(x: np.ndarray, y: np.ndarray, size: int) -> tuple:
    """(x, y, weight) grown to `size` rows with zero-weight padding that counts for nothing."""
    pad = size - len(x)
    weight = np.concatenate([np.ones(len(x), np.float32), np.zeros(pad, np.float32)])
    x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]) if pad else x
    y = np.concatenate([y, np.zeros(pad, y.dtype)]) if pad else y
    return x, y, weight


def fit_distributed(
    strategy, model, x_train, y_train, x_val, y_val, num_classes: int, config, listener=None
) -> dict:
    """Train `model` (built and compiled in `strategy.scope()`) on this worker's clips.

    Every replica takes `config.batch_size` clips per step (the global batch is that times
    the replicas); every worker runs the same number of steps (the training shard repeats,
    the validation shard is padded with zero-weight rows), so collectives always pair up.
    Early stopping on the all-reduced validation loss is therefore the same on every worker.
    Returns history, epochs_run, stopped_early and stopped_by_user.
    """
    import keras
    import tensorflow as tf

    replicas = int(strategy.num_replicas_in_sync)
    local_replicas = max(1, replicas // worker_count(strategy))
    batch, val_batch = config.batch_size, max(config.batch_size, 16)
    global_batch = batch * replicas
    try:
        wait_for_workers(strategy)  # the slowest worker's frame extraction may take long
        n_train, n_val, fewest = _max_over_workers(
            strategy, [len(x_train), len(x_val), -len(x_train)]
        )
    except _lost_worker_errors() as exc:
        raise lost_worker_error(exc) from exc
    # Every worker sees the same numbers, so every worker stops here together.
    if n_val == 0:
        raise TrainingError(
            "No validation clips: early stopping needs some; add clips or groups per class."
        )
    if -fewest == 0:
        raise TrainingError(
            "A worker's share of the training clips is empty; use fewer workers or more clips."
        )
    steps = max(1, math.ceil(n_train * worker_count(strategy) / global_batch))
    val_steps = max(1, math.ceil(n_val / (val_batch * local_replicas)))
    xv, yv, wv = _padded(x_val, y_val, val_steps * val_batch * local_replicas)

    def scale(x, y, *w):
        return (tf.cast(x, tf.float32) / 255.0, tf.one_hot(y, num_classes), *w)

    def train_fn(ctx):
        ds = tf.data.Dataset.from_tensor_slices((x_train, y_train))
        ds = ds.shuffle(len(x_train), seed=config.seed + ctx.input_pipeline_id)
        return ds.repeat().batch(batch, drop_remainder=True).map(scale).prefetch(2)

    def val_fn(ctx):
        ds = tf.data.Dataset.from_tensor_slices((xv, yv, wv))
        return ds.batch(val_batch).map(scale).prefetch(2)

    loss_fn = keras.losses.CategoricalCrossentropy(reduction=None)
    variables = model.trainable_variables

    def sums(probabilities, y, weight):
        losses = loss_fn(y, probabilities) * weight
        hits = tf.cast(tf.argmax(probabilities, -1) == tf.argmax(y, -1), tf.float32) * weight
        return losses, tf.reduce_sum(hits), tf.reduce_sum(weight)

    @tf.function
    def train_step(iterator):
        def step(x, y):
            with tf.GradientTape() as tape:
                losses, hits, n = sums(model(x, training=True), y, tf.ones(tf.shape(y)[:1]))
                loss = tf.nn.compute_average_loss(losses, global_batch_size=global_batch)
            model.optimizer.apply_gradients(
                zip(tape.gradient(loss, variables), variables, strict=True)
            )
            return tf.reduce_sum(losses), hits, n

        out = strategy.run(step, args=next(iterator))
        return [strategy.reduce("SUM", v, axis=None) for v in out]

    @tf.function
    def val_step(batch_data):
        def step(x, y, w):
            losses, hits, n = sums(model(x, training=False), y, w)
            return tf.reduce_sum(losses), hits, n

        out = strategy.run(step, args=batch_data)
        return [strategy.reduce("SUM", v, axis=None) for v in out]

    train_iter = iter(strategy.distribute_datasets_from_function(train_fn))
    val_data = strategy.distribute_datasets_from_function(val_fn)
    history: dict[str, list[float]] = {}
    best, best_weights, wait, stopped_early, stopped_by_user = math.inf, None, 0, False, False
    try:
        for epoch in range(config.epochs):
            if listener is not None:
                listener.on_epoch_begin(epoch, config.epochs)
            total = np.zeros(3)
            for i in range(steps):
                total += [float(v) for v in train_step(train_iter)]
                if listener is not None:
                    logs = {"loss": total[0] / total[2], "accuracy": total[1] / total[2]}
                    listener.on_batch_end(epoch, i, steps, logs)
                    if listener.should_stop():  # the CLI never asks; the same on every worker
                        stopped_by_user = True
                        break
            if stopped_by_user:
                break
            val = np.zeros(3)
            for batch_data in val_data:
                val += [float(v) for v in val_step(batch_data)]
            logs = {
                "accuracy": total[1] / total[2],
                "loss": total[0] / total[2],
                "val_accuracy": val[1] / val[2],
                "val_loss": val[0] / val[2],
            }
            for key, value in logs.items():
                history.setdefault(key, []).append(float(value))
            if listener is not None:
                listener.on_epoch_end(epoch, logs)
            if logs["val_loss"] < best:
                best, best_weights, wait = logs["val_loss"], model.get_weights(), 0
            else:
                wait += 1
                if wait >= config.patience:  # as keras.callbacks.EarlyStopping
                    stopped_early = True
                    break
    except _lost_worker_errors() as exc:
        raise lost_worker_error(exc) from exc
    if best_weights is not None:
        model.set_weights(best_weights)  # restore the best epoch, as Keras's EarlyStopping
    return {
        "history": history,
        "epochs_run": len(history.get("loss", [])),
        "stopped_early": stopped_early,
        "stopped_by_user": stopped_by_user,
    }


def dump_weights(model, shard: Shard | None) -> str | None:
    """Save the trained weights to HAR_WORKER_WEIGHTS_DIR/worker-<i>.npz, if it is set."""
    folder = os.environ.get(WEIGHTS_ENV)
    if not folder:
        return None

    index = shard.index if shard is not None else 0
    target = os.path.join(folder, f"worker-{index}.npz")
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, *model.get_weights())
    return target
