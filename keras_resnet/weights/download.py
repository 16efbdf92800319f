"""Published weights downloaded into the Keras cache once, and checked against their hash."""

import hashlib
import os
import warnings

import keras

from keras_resnet.weights.catalogue import PublishedWeights


def digest(path: str | os.PathLike, algorithm: str) -> str:
    """The file's hex digest, read in chunks.

    Example:
        >>> open("file.bin", "wb").close()
        >>> digest("file.bin", "md5")
        'd41d8cd98f00b204e9800998ecf8427e'
        >>> len(digest("file.bin", "sha256"))
        64
    """
    with open(path, "rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def fetch(spec: PublishedWeights, *, include_top: bool = True, cache_dir: str | None = None) -> str:
    """Downloads published weights into the Keras cache (once) and verifies their checksum.

    A cached file whose checksum does not match (damaged, or an older download) is deleted and
    downloaded again, once; a second mismatch raises and leaves nothing in the cache. Without a
    network, the error says how to load a local copy instead. Returns the file's path.

    Example:
        >>> fetch(PUBLISHED["resnet50", "keras:imagenet"], include_top=False)  # doctest: +SKIP
        '~/.keras/models/keras_resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5'
    """
    url, expected = spec.url, spec.file_hash
    if not include_top and spec.notop_url:
        url, expected = spec.notop_url, spec.notop_hash
    parts = url.split("/")
    # Every hub file is called model.safetensors: the cache names it after its repository.
    file_name = parts[-1] if "huggingface.co" not in url else f"{parts[-4]}.safetensors"
    if cache_dir is not None:
        os.makedirs(cache_dir, exist_ok=True)  # else Keras falls back to /tmp/.keras
    algorithm = "md5" if expected and len(expected) == 32 else "sha256"
    for _attempt in (1, 2):
        try:
            path = keras.utils.get_file(
                file_name,
                url,
                cache_dir=cache_dir,
                cache_subdir=os.path.join("models", "keras_resnet"),
            )
        except Exception as error:  # offline, Keras raises a bare Exception("URL fetch failure")
            pinned = f" (its {algorithm}: {expected})" if expected else ""
            raise ConnectionError(
                f"Cannot download {url}: {error}. Offline? Download {file_name}{pinned} on a "
                f"connected machine and load the file itself: weights='/path/to/{file_name}'."
            ) from None
        actual = digest(path, algorithm)
        if expected is None:
            warnings.warn(
                f"No checksum is pinned for {url}; the downloaded file {path} has SHA-256 "
                f"{actual}.",
                stacklevel=3,
            )
            return path
        if actual == expected.lower():
            return path
        os.remove(path)  # a damaged or stale copy: the next attempt downloads it afresh
    raise ValueError(
        f"Checksum mismatch for {url}: expected {algorithm} {expected}, the download has "
        f"{actual} (twice). The file was deleted; the published file may have changed."
    )
