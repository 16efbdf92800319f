"""The published ImageNet weights, one literal row each: what a name loads, from where, checked
against which hash, and how its top-1 was measured.

Sources. torchvision's weights are read from timm's safetensors copies on the Hugging Face hub
(timm's `*.tv_in1k` / `*.tv2_in1k` are torchvision's IMAGENET1K_V1 / _V2), since torchvision
itself publishes pickles. Hub revisions and SHA-256s are as the hub's pages show them, read in
2026-11: a pinned revision fixes what the URL serves; where no full commit or hash was found the
row has None, the URL reads `main`, and `fetch` warns with the file's SHA-256.
keras.applications publishes MD5s (keras/src/applications/resnet.py, `WEIGHTS_HASHES`).
Evaluation transforms: torchvision/models/resnet.py's `ImageClassification(crop_size,
resize_size)` and timm/models/resnet.py's `default_cfgs` (input_size, crop_pct, interpolation).
Top-1: as each publisher reports it for that file (None for keras.applications' files).

The docs' weights page (docs/generated/weights.md) is generated from these rows
(`python docs/generate.py`); tests/core/test_docs.py fails when it differs from them.
"""

# ruff: noqa: E501 (a URL stays whole, so that it can be copied and searched for)

import dataclasses
import math
import re
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublishedWeights:
    """One set of published ImageNet weights: one row of `CATALOGUE`.

    Attributes:
        model: our model name, e.g. "resnet101".
        tag: the name `weights=` takes, "publisher:name", e.g. "timm:ra2_in1k".
        source: the publisher's own name for the weights, e.g. "timm resnet101d.ra2_in1k".
        url: where the file is; a hub URL holds `revision` (or `main` where none is pinned).
        revision: the Hugging Face hub commit the URL is pinned to, or None.
        file_hash: the file's SHA-256 (64 hex digits) or, where the publisher gives only that,
            its MD5 (32, keras.applications); None where no hash is pinned here yet.
        notop_url, notop_hash: the file without classifier, where one is published.
        variant: the variant the weights are for.
        preprocessing: the `preprocess_input` mode they were trained with.
        input_size, crop_pct, interpolation: the evaluation transform `top1` was measured
            with: resize the shorter side to `resize_size` = `floor(input_size / crop_pct)`
            (antialiased, with this interpolation), then center-crop `input_size`
            (torchvision's `Resize` + `CenterCrop`; timm's `crop_pct`). torchvision's V1
            weights: 256 -> 224 (0.875), V2: 232 -> 224 (0.965), both bilinear.
        top1: ImageNet-1k top-1 accuracy reported by the publisher, in percent, or None.

    Example:
        >>> spec = PUBLISHED["resnet101", "timm:ra2_in1k"]
        >>> spec.source, spec.resize_size, spec.input_size
        ('timm resnet101d.ra2_in1k', 269, 256)
    """

    model: str
    tag: str
    source: str
    url: str
    revision: str | None = None
    file_hash: str | None
    notop_url: str | None = None
    notop_hash: str | None = None
    variant: str
    preprocessing: str
    input_size: int = 224
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    top1: float | None = None

    def __post_init__(self):
        for field in ("file_hash", "notop_hash"):
            value = getattr(self, field)
            if value is not None and not re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{64}", value):
                raise ValueError(
                    f"`{field}` must be None, an MD5 (32 lowercase hex digits) or a SHA-256 (64); "
                    f"received {field}={value!r} for {self.model} {self.tag!r}."
                )
        if self.revision is not None and f"/resolve/{self.revision}/" not in self.url:
            raise ValueError(
                f"`url` must hold the pinned revision ('/resolve/{self.revision}/'); received "
                f"url={self.url!r} for {self.model} {self.tag!r}."
            )

    @property
    def resize_size(self) -> int:
        """The shorter side before the center crop: timm's `floor(input_size / crop_pct)`."""
        return math.floor(self.input_size / self.crop_pct + 1e-9)


CATALOGUE = (
    PublishedWeights(
        model="resnet18",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision ResNet18_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/resnet18.tv_in1k/resolve/590dfdd48494d2316a8385e1ca7fbec3b9359b35/model.safetensors",
        revision="590dfdd48494d2316a8385e1ca7fbec3b9359b35",
        file_hash="694f673df6520a3158624e8a89af086f59923ee4cd7436fe5bc3bc71d295ad81",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=69.758,
    ),
    PublishedWeights(
        model="resnet34",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision ResNet34_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/resnet34.tv_in1k/resolve/c983eba7f5e69bc3548a626d1b0b0b914e5de3a6/model.safetensors",
        revision="c983eba7f5e69bc3548a626d1b0b0b914e5de3a6",
        file_hash="0bb82595a564991a9d424708b33f5d843f5aaed7f6c0886ff10849ff97022235",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=73.314,
    ),
    PublishedWeights(
        model="resnet50",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision ResNet50_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/resnet50.tv_in1k/resolve/aa6c2d36d56bc0209040c02b5a7b7d7bf11d57b8/model.safetensors",
        revision="aa6c2d36d56bc0209040c02b5a7b7d7bf11d57b8",
        file_hash="5d061a3c593d795bfe682d9b152bafbcf550579873492def3515b46db1189888",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=76.13,
    ),
    PublishedWeights(
        model="resnet50",
        tag="torchvision:IMAGENET1K_V2",
        source="torchvision ResNet50_Weights.IMAGENET1K_V2",
        url="https://huggingface.co/timm/resnet50.tv2_in1k/resolve/f2a8587ea6b4a3a1d84450bcc2561b07952daae2/model.safetensors",
        revision="f2a8587ea6b4a3a1d84450bcc2561b07952daae2",
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.965,
        interpolation="bilinear",
        top1=80.858,
    ),
    PublishedWeights(
        model="resnet101",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision ResNet101_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/resnet101.tv_in1k/resolve/main/model.safetensors",
        revision=None,
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=77.374,
    ),
    PublishedWeights(
        model="resnet101",
        tag="torchvision:IMAGENET1K_V2",
        source="torchvision ResNet101_Weights.IMAGENET1K_V2",
        url="https://huggingface.co/timm/resnet101.tv2_in1k/resolve/main/model.safetensors",
        revision=None,
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.965,
        interpolation="bilinear",
        top1=81.886,
    ),
    PublishedWeights(
        model="resnet152",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision ResNet152_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/resnet152.tv_in1k/resolve/2a9b5c2460893a2ab13d8625db2383f3094d704f/model.safetensors",
        revision="2a9b5c2460893a2ab13d8625db2383f3094d704f",
        file_hash="15897077afdf4d6334dc0c3f8e6fb483afb3faa9298c139f3c6eb29bca6ae5b2",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=78.312,
    ),
    PublishedWeights(
        model="resnet152",
        tag="torchvision:IMAGENET1K_V2",
        source="torchvision ResNet152_Weights.IMAGENET1K_V2",
        url="https://huggingface.co/timm/resnet152.tv2_in1k/resolve/6c03aba8c980980031f286eec039dc10543e01a4/model.safetensors",
        revision="6c03aba8c980980031f286eec039dc10543e01a4",
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.965,
        interpolation="bilinear",
        top1=82.284,
    ),
    PublishedWeights(
        model="resnext50_32x4d",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision ResNeXt50_32X4D_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/resnext50_32x4d.tv_in1k/resolve/ac4eef0c61cc63cb64d8c416bf9b518f757bed1f/model.safetensors",
        revision="ac4eef0c61cc63cb64d8c416bf9b518f757bed1f",
        file_hash="c0d85cba49c0e9dedbcf6d4e572e2c5ea5eb68e9d64d0564811fd54d4f72939a",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=77.618,
    ),
    PublishedWeights(
        model="resnext50_32x4d",
        tag="torchvision:IMAGENET1K_V2",
        source="torchvision ResNeXt50_32X4D_Weights.IMAGENET1K_V2",
        url="https://huggingface.co/timm/resnext50_32x4d.tv2_in1k/resolve/main/model.safetensors",
        revision=None,
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.965,
        interpolation="bilinear",
        top1=81.198,
    ),
    PublishedWeights(
        model="resnext101_32x8d",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision ResNeXt101_32X8D_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/resnext101_32x8d.tv_in1k/resolve/main/model.safetensors",
        revision=None,
        file_hash="71c7427e233904ad828b768b9683876dc71f143876cbadaa26428bfea3560fc3",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=79.312,
    ),
    PublishedWeights(
        model="resnext101_32x8d",
        tag="torchvision:IMAGENET1K_V2",
        source="torchvision ResNeXt101_32X8D_Weights.IMAGENET1K_V2",
        url="https://huggingface.co/timm/resnext101_32x8d.tv2_in1k/resolve/027b0f16bf147c3e56df46309d78421a430cfa05/model.safetensors",
        revision="027b0f16bf147c3e56df46309d78421a430cfa05",
        file_hash="580cfe940c344745cc8a629517a5c3300b6aeea9bd88a258f61027da010344af",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.965,
        interpolation="bilinear",
        top1=82.834,
    ),
    PublishedWeights(
        model="wide_resnet50_2",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision Wide_ResNet50_2_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/wide_resnet50_2.tv_in1k/resolve/343c5fa59ca8a131e0cdf42144a641b36a0387c2/model.safetensors",
        revision="343c5fa59ca8a131e0cdf42144a641b36a0387c2",
        file_hash="df6fb6c4824769769de18e14088475fd6ee94236849aa4e5d8022ba9d9a9a16c",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=78.468,
    ),
    PublishedWeights(
        model="wide_resnet50_2",
        tag="torchvision:IMAGENET1K_V2",
        source="torchvision Wide_ResNet50_2_Weights.IMAGENET1K_V2",
        url="https://huggingface.co/timm/wide_resnet50_2.tv2_in1k/resolve/349ee6965ad47f083e89f2fb3287f360aaee1dbb/model.safetensors",
        revision="349ee6965ad47f083e89f2fb3287f360aaee1dbb",
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.965,
        interpolation="bilinear",
        top1=81.602,
    ),
    PublishedWeights(
        model="wide_resnet101_2",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision Wide_ResNet101_2_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/wide_resnet101_2.tv_in1k/resolve/main/model.safetensors",
        revision=None,
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=78.848,
    ),
    PublishedWeights(
        model="wide_resnet101_2",
        tag="torchvision:IMAGENET1K_V2",
        source="torchvision Wide_ResNet101_2_Weights.IMAGENET1K_V2",
        url="https://huggingface.co/timm/wide_resnet101_2.tv2_in1k/resolve/a6575ad1ffc6e79d0ae5f480bb78492e8e63b866/model.safetensors",
        revision="a6575ad1ffc6e79d0ae5f480bb78492e8e63b866",
        file_hash="0438046a3b7bb8166e6564dec811985d595f3098c9970181305945e0efa964c3",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.965,
        interpolation="bilinear",
        top1=82.51,
    ),
    # Trained with torchvision's new recipe (pytorch/vision#5935), so evaluated 232 -> 224
    # although it is "V1".
    PublishedWeights(
        model="resnext101_64x4d",
        tag="torchvision:IMAGENET1K_V1",
        source="torchvision ResNeXt101_64X4D_Weights.IMAGENET1K_V1",
        url="https://huggingface.co/timm/resnext101_64x4d.tv_in1k/resolve/56d0407ee160d0f4436a455f9d3f66f4454010ac/model.safetensors",
        revision="56d0407ee160d0f4436a455f9d3f66f4454010ac",
        file_hash="47528f24e5cd6844249c9e4ea11aed6619431b83a0596afe80efdfffdb369900",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.965,
        interpolation="bilinear",
        top1=83.246,
    ),
    PublishedWeights(
        model="resnet18",
        tag="timm:a1_in1k",
        source="timm resnet18.a1_in1k",
        url="https://huggingface.co/timm/resnet18.a1_in1k/resolve/ebd61f9c7420e5b5b53262b8ce6bbe311e1e872a/model.safetensors",
        revision="ebd61f9c7420e5b5b53262b8ce6bbe311e1e872a",
        file_hash="80c49dee3da4822c009c5a7fe591e9223c5a2cfcf95a4067ca4dfb5a7b89c612",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.95,
        interpolation="bicubic",
        top1=71.49,
    ),
    PublishedWeights(
        model="resnet34",
        tag="timm:a1_in1k",
        source="timm resnet34.a1_in1k",
        url="https://huggingface.co/timm/resnet34.a1_in1k/resolve/0e8757122c4c09b15fb9300c0fd09b3fe89e28bf/model.safetensors",
        revision="0e8757122c4c09b15fb9300c0fd09b3fe89e28bf",
        file_hash="829a220f9529d2b1ffdc8719d3273463001e0daf411eaf1916865d9db62c0ed2",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.95,
        interpolation="bicubic",
        top1=75.03,
    ),
    PublishedWeights(
        model="resnet50",
        tag="timm:a1_in1k",
        source="timm resnet50.a1_in1k",
        url="https://huggingface.co/timm/resnet50.a1_in1k/resolve/5d9e13b8fdab4d9718bcf2c8f5c3af01878367e8/model.safetensors",
        revision="5d9e13b8fdab4d9718bcf2c8f5c3af01878367e8",
        file_hash="773525d5821de224f8f30c33377b7a795d7863e08522698200d3217d3f2a41bb",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.95,
        interpolation="bicubic",
        top1=80.38,
    ),
    PublishedWeights(
        model="resnet101",
        tag="timm:a1_in1k",
        source="timm resnet101.a1_in1k",
        url="https://huggingface.co/timm/resnet101.a1_in1k/resolve/e95c1e3e7cdcc0637817ecc79658817e6dc441bc/model.safetensors",
        revision="e95c1e3e7cdcc0637817ecc79658817e6dc441bc",
        file_hash="1ba5b660e7c175b3c27c557fc7dc8b2815be830c516815b0155f61b403f27380",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.95,
        interpolation="bicubic",
        top1=81.93,
    ),
    PublishedWeights(
        model="resnet152",
        tag="timm:a1_in1k",
        source="timm resnet152.a1_in1k",
        url="https://huggingface.co/timm/resnet152.a1_in1k/resolve/449ee9bfaea31586d09a7e686b5932e9d1272ec6/model.safetensors",
        revision="449ee9bfaea31586d09a7e686b5932e9d1272ec6",
        file_hash="5a3518da3d35ee04e77a5e69289cff55c3a07a732d7287f6cab20bd4d330eda9",
        notop_url=None,
        notop_hash=None,
        variant="v1.5",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.95,
        interpolation="bicubic",
        top1=82.73,
    ),
    PublishedWeights(
        model="resnet18",
        tag="timm:ra2_in1k",
        source="timm resnet18d.ra2_in1k",
        url="https://huggingface.co/timm/resnet18d.ra2_in1k/resolve/591cf0147ae10b2e3284b25e0516b2bc5ab17780/model.safetensors",
        revision="591cf0147ae10b2e3284b25e0516b2bc5ab17780",
        file_hash="0ad5d924c4269ad863590b6ccdd19f5fb48d0bae695c1dd6751de0b0282d8361",
        notop_url=None,
        notop_hash=None,
        variant="v1d",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bicubic",
        top1=73.67,
    ),
    PublishedWeights(
        model="resnet34",
        tag="timm:ra2_in1k",
        source="timm resnet34d.ra2_in1k",
        url="https://huggingface.co/timm/resnet34d.ra2_in1k/resolve/main/model.safetensors",
        revision=None,
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1d",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bicubic",
        top1=77.11,
    ),
    PublishedWeights(
        model="resnet50",
        tag="timm:ra2_in1k",
        source="timm resnet50d.ra2_in1k",
        url="https://huggingface.co/timm/resnet50d.ra2_in1k/resolve/b5aa118ea31ee6b9e8cceff7764d2156c27b54bc/model.safetensors",
        revision="b5aa118ea31ee6b9e8cceff7764d2156c27b54bc",
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1d",
        preprocessing="torch",
        input_size=224,
        crop_pct=0.875,
        interpolation="bicubic",
        top1=80.53,
    ),
    PublishedWeights(
        model="resnet101",
        tag="timm:ra2_in1k",
        source="timm resnet101d.ra2_in1k",
        url="https://huggingface.co/timm/resnet101d.ra2_in1k/resolve/main/model.safetensors",
        revision=None,
        file_hash="c2192596da2e8d652cbf0465b8694704247b524efb68ed194504af453830709c",
        notop_url=None,
        notop_hash=None,
        variant="v1d",
        preprocessing="torch",
        input_size=256,
        crop_pct=0.95,
        interpolation="bicubic",
        top1=82.31,
    ),
    PublishedWeights(
        model="resnet152",
        tag="timm:ra2_in1k",
        source="timm resnet152d.ra2_in1k",
        url="https://huggingface.co/timm/resnet152d.ra2_in1k/resolve/3566144f955888325a551683389ff25932c9861a/model.safetensors",
        revision="3566144f955888325a551683389ff25932c9861a",
        file_hash=None,
        notop_url=None,
        notop_hash=None,
        variant="v1d",
        preprocessing="torch",
        input_size=256,
        crop_pct=0.95,
        interpolation="bicubic",
        top1=83.13,
    ),
    PublishedWeights(
        model="resnet50",
        tag="keras:imagenet",
        source="keras.applications ResNet50",
        url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        revision=None,
        file_hash="2cb95161c43110f7111970584f804107",
        notop_url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        notop_hash="4d473c1dd8becc155b73f8504c6f6626",
        variant="v1",
        preprocessing="caffe",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=None,
    ),
    PublishedWeights(
        model="resnet101",
        tag="keras:imagenet",
        source="keras.applications ResNet101",
        url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet101_weights_tf_dim_ordering_tf_kernels.h5",
        revision=None,
        file_hash="f1aeb4b969a6efcfb50fad2f0c20cfc5",
        notop_url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
        notop_hash="88cf7a10940856eca736dc7b7e228a21",
        variant="v1",
        preprocessing="caffe",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=None,
    ),
    PublishedWeights(
        model="resnet152",
        tag="keras:imagenet",
        source="keras.applications ResNet152",
        url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet152_weights_tf_dim_ordering_tf_kernels.h5",
        revision=None,
        file_hash="100835be76be38e30d865e96f2aaae62",
        notop_url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5",
        notop_hash="ee4c566cf9a93f14d82f913c2dc6dd0c",
        variant="v1",
        preprocessing="caffe",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=None,
    ),
    PublishedWeights(
        model="resnet50",
        tag="keras:imagenetv2",
        source="keras.applications ResNet50V2",
        url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50v2_weights_tf_dim_ordering_tf_kernels.h5",
        revision=None,
        file_hash="3ef43a0b657b3be2300d5770ece849e0",
        notop_url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
        notop_hash="fac2f116257151a9d068a22e544a4917",
        variant="v2",
        preprocessing="tf",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=None,
    ),
    PublishedWeights(
        model="resnet101",
        tag="keras:imagenetv2",
        source="keras.applications ResNet101V2",
        url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet101v2_weights_tf_dim_ordering_tf_kernels.h5",
        revision=None,
        file_hash="6343647c601c52e1368623803854d971",
        notop_url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
        notop_hash="c0ed64b8031c3730f411d2eb4eea35b5",
        variant="v2",
        preprocessing="tf",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=None,
    ),
    PublishedWeights(
        model="resnet152",
        tag="keras:imagenetv2",
        source="keras.applications ResNet152V2",
        url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet152v2_weights_tf_dim_ordering_tf_kernels.h5",
        revision=None,
        file_hash="a49b44d1979771252814e80f8ec446f9",
        notop_url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
        notop_hash="ed17cf2e0169df9d443503ef94b23b33",
        variant="v2",
        preprocessing="tf",
        input_size=224,
        crop_pct=0.875,
        interpolation="bilinear",
        top1=None,
    ),
)

# "imagenet" picks the first of these that the model has: the best published for its variant.
DEFAULT_FOR_VARIANT = {
    "v1.5": ("torchvision:IMAGENET1K_V2", "torchvision:IMAGENET1K_V1"),
    "v1": ("keras:imagenet",),
    "v2": ("keras:imagenetv2",),
    "v1d": ("timm:ra2_in1k",),
}


def build_index(rows: Iterable[PublishedWeights]) -> dict[tuple[str, str], PublishedWeights]:
    """{(model, tag): row}, refusing a (model, tag) pair listed twice.

    Example:
        >>> build_index(CATALOGUE)["resnet50", "keras:imagenet"].source
        'keras.applications ResNet50'
    """
    index = {}
    for row in rows:
        key = (row.model, row.tag)
        if key in index:
            raise ValueError(
                f"The catalogue must list each (model, tag) once; received {key} twice: "
                f"{index[key].url} and {row.url}."
            )
        index[key] = row
    return index


# (model name, tag) -> PublishedWeights. Tests add entries to this very dict, so every lookup
# reads it, never a copy.
PUBLISHED: dict[tuple[str, str], PublishedWeights] = build_index(CATALOGUE)
