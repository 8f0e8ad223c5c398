"""The training page's pretrained network: an ImageNet architecture of the guide with a new last layer (the
notes' transfer learning recipe), its controls, and what it will do before it trains (``cnnkit.train.transfer``).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from cnnkit.data.datasets import Dataset, subset_size
from cnnkit.data.folders import SIZES
from cnnkit.errors import CnnkitError
from cnnkit.infer.uploads import IMAGENET_WEIGHTS_MB
from cnnkit.nets.builder import ModelConfig
from cnnkit.nets.transfer import preprocessing, title
from cnnkit.train.loop import TrainConfig
from cnnkit.train.transfer import (
    PAGE_BACKBONES,
    SMALL_BACKBONES,
    WEIGHT_SUFFIXES,
    TransferPlan,
    block_count,
    keep_weights,
    missing_weights,
    plan_transfer,
)
from pages.ui import error_text, fmt, names, num, t

MODES = ("all", "blocks", "none")  # the head only, the last N blocks too, everything
KEPT_KEY = "train_weights_kept"  # (backbone, upload's id) → the kept file's path, or why it cannot be used


@dataclass(frozen=True, kw_only=True)
class Choice:
    """The pretrained network chosen: its model, the uploaded weights' file, and why it cannot train yet."""

    model: ModelConfig
    weights: str | None  # the kept upload (``TrainConfig.weights``); None: torch hub's cache
    problem: CnnkitError | None  # a wrong upload, or weights that are absent


@st.cache_data(show_spinner=False, max_entries=64)
def plan(backbone: str, classes: int, mode: str, pretrained: bool, images: int, batch: int, device: str, augmented):
    return plan_transfer(
        backbone,
        classes,
        mode=mode,
        pretrained=pretrained,
        images=images,
        batch_size=batch,
        device=device,
        augmented=augmented,
    )


def controls(device: str) -> Choice:
    """The architecture, the starting weights, what learns and an optional weights file (the model column)."""
    backbone = st.selectbox(t("train.transfer.arch"), PAGE_BACKBONES, format_func=title, key="train_backbone")
    if device == "cpu":
        st.caption(t("train.transfer.small", names=", ".join(map(title, SMALL_BACKBONES))))
    start = st.radio(
        t("train.transfer.weights"),
        ("imagenet", "scratch"),
        format_func=names("train.transfer"),
        key="train_weights",
        help=t("train.transfer.weights_help"),
    )
    pretrained = start != "scratch"
    mode = st.radio(
        t("train.transfer.mode"),
        MODES,
        format_func=names("train.transfer.mode", "_"),
        key="train_freeze",
        help=t("train.transfer.mode_help"),
    )
    freeze = "none" if mode == "none" else "all"
    if mode == "blocks":
        most = block_count(backbone)
        st.session_state["train_unfreeze"] = min(st.session_state.get("train_unfreeze", 1), most)
        freeze = str(st.number_input(t("train.transfer.unfreeze", blocks=most), 1, most, key="train_unfreeze"))
    model = ModelConfig(backbone=backbone, pretrained=pretrained, freeze=freeze)
    weights, problem = uploaded_weights(backbone) if pretrained else (None, None)
    return Choice(model=model, weights=weights, problem=problem or missing_weights(backbone, pretrained, weights))


def uploaded_weights(backbone: str) -> tuple[str | None, CnnkitError | None]:
    """The weights file the user gave, checked and kept; or why it cannot be used."""
    file = st.file_uploader(
        t("train.transfer.file"),
        type=[s.lstrip(".") for s in WEIGHT_SUFFIXES],
        max_upload_size=IMAGENET_WEIGHTS_MB,
        key="train_weights_file",
        help=t("train.transfer.file_help"),
    )
    if file is None:
        return None, None
    checked = st.session_state.setdefault(KEPT_KEY, {})  # once per upload: a file of 500 MB is not read again
    if (backbone, file.file_id) not in checked:
        try:
            checked[backbone, file.file_id] = str(keep_weights(backbone, file.getvalue(), file.name))
        except CnnkitError as exc:
            checked[backbone, file.file_id] = exc
    kept = checked[backbone, file.file_id]
    if isinstance(kept, CnnkitError):
        return None, kept
    st.caption(t("train.transfer.file_given", name=file.name))
    return kept, None


def section(config: TrainConfig, dataset: Dataset | None, problem: CnnkitError | None) -> TransferPlan | None:
    """Below the controls: what learns, the recipe's code, the weights' preprocessing, time and memory, and the
    message that keeps it from training; the plan when it can train."""
    model = config.model
    st.subheader(t("train.transfer.section", model=title(model.backbone)))
    images = subset_size(dataset.train, config.train_subset) if dataset else 1000
    try:
        found = plan(
            model.backbone,
            len(dataset.info.classes) if dataset else 10,
            model.freeze_mode,
            model.pretrained,
            images,
            config.batch_size,
            config.device,
            config.augment or config.augmentation.active,
        )
    except CnnkitError as exc:
        st.error(error_text(exc))
        return None
    counts(found)
    code_col, text_col = st.columns(2)
    code_col.caption(t("train.transfer.code"))
    code_col.code(found.code, language="python")
    p = preprocessing(model.backbone)
    text_col.markdown(
        t(
            "train.transfer.preprocessing",
            resize=p.resize,
            crop=p.crop,
            interpolation=t(f"train.transfer.{p.interpolation}"),
            mean=values(p.mean),
            std=values(p.std),
        )
    )
    if dataset is not None and dataset.info.name == "folder" and dataset.info.size < p.crop:
        text_col.caption(t("train.transfer.small_images", size=dataset.info.size, crop=p.crop, largest=max(SIZES)))
    seconds = fmt().seconds
    key = "cached" if found.cached else "uncached"
    text_col.info(t(f"train.transfer.{key}", first=seconds(found.first_seconds), epoch=seconds(found.epoch_seconds)))
    if problem is not None:
        st.warning(error_text(problem))
        return None
    return found


def counts(found: TransferPlan) -> None:
    """Trainable and frozen parameters, memory and the epochs' time, as metrics."""
    trainable, frozen, memory, first, then = st.columns(5)
    trainable.metric(t("train.transfer.trainable"), num(found.trainable))
    frozen.metric(t("train.transfer.frozen"), num(found.frozen))
    memory.metric(t("train.transfer.memory"), fmt().unit(found.memory_bytes / 2**20, "mb"))
    first.metric(
        t("train.transfer.first_epoch"), fmt().seconds(found.first_seconds), help=t("train.transfer.estimate_help")
    )
    seconds = fmt().seconds
    later = t("train.transfer.next_cached", most=seconds(0.1)) if found.cached else seconds(found.epoch_seconds)
    then.metric(t("train.transfer.next_epochs"), later)


def values(numbers: tuple[float, ...]) -> str:
    """Per-channel values as the language writes them: (0.485, 0.456, 0.406) or (0,485; 0,456; 0,406)."""
    separator = "; " if t("number.decimal") == "," else ", "
    return "(" + separator.join(fmt().number(v, 3) for v in numbers) + ")"
