"""Short readable names of runs and networks: the architecture and what differs from the defaults, e.g.
``ConvNet · BatchNorm · Adam 0.001`` or ``own net: 2 conv, 1 fc · SGD 0.05``. The CLI and the page name a run
alike (``RunStore.create``); a name the user chose is kept."""

from __future__ import annotations

from functools import lru_cache

from cnnkit.i18n import DEFAULT_LANGUAGE, LANGUAGES, formatter, text
from cnnkit.nets.builder import ModelConfig
from cnnkit.nets.transfer import title
from cnnkit.train.loop import TrainConfig

SEPARATOR = " · "
SWITCHES = (("extra_conv", True), ("pooling", False), ("padding", False), ("extra_fc", True), ("batchnorm", True))
DEFAULTS = TrainConfig()


def _t(key: str, lang: str, **values) -> str:
    return text(f"runs.naming.{key}", lang, **values)


def network_summary(model: ModelConfig, lang: str = DEFAULT_LANGUAGE) -> str:
    """The network in a few words: a family with its experiments, or a layer list by its counts of layers."""
    number = formatter(lang).value
    if model.layers is not None:
        types = [layer.type for layer in model.layers]
        parts = [_t("own", lang, conv=types.count("conv"), fc=types.count("linear"))]
        parts += [_t(kind, lang) for kind in ("batchnorm", "dropout") if kind in types]
        return SEPARATOR.join(parts)
    if model.backbone:
        parts = [title(model.backbone), _t("imagenet" if model.pretrained else "scratch", lang)]
        return SEPARATOR.join([*parts, freeze_summary(model.freeze_mode, lang)])
    parts = [_t(f"arch.{model.arch}", lang)]
    parts += [_t(name, lang) for name, on in SWITCHES if getattr(model, name) is on]
    parts += [_t("dropout_p", lang, p=number(model.dropout))] if model.dropout else []
    parts += [freeze_summary(model.freeze, lang)] if model.freeze else []  # started from another model
    return SEPARATOR.join(parts)


def freeze_summary(mode: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """What learns: the head only, the last N blocks and the head, all but the convolutional features, all."""
    return _t("freeze.last", lang, count=int(mode)) if mode.isdigit() else _t(f"freeze.{mode}", lang)


def training_summary(config: TrainConfig, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """The optimizer with its learning rate, then the training settings that differ from the defaults."""
    number = formatter(lang).value
    parts = [f"{text(f'train.optimizers.{config.optimizer}', lang).split(' (')[0]} {number(config.lr)}"]
    if config.schedule != DEFAULTS.schedule:
        parts.append(text(f"train.schedules.{config.schedule}", lang))
    if config.label_smoothing:
        parts.append(_t("smoothing", lang, value=number(config.label_smoothing)))
    if config.whiten:
        parts.append(_t("whiten", lang))
    if config.batch_size != DEFAULTS.batch_size:
        parts.append(_t("batch", lang, size=number(config.batch_size)))
    if config.augment or config.augmentation.active:
        parts.append(_t("augment", lang))
    return parts


def default_name(config: TrainConfig, lang: str = DEFAULT_LANGUAGE) -> str:
    """A run's name when the user gave none: ``ConvNet · BatchNorm · Adam 0.001``."""
    return SEPARATOR.join([network_summary(config.model, lang), *training_summary(config, lang)])


@lru_cache(maxsize=4096)  # a page names each run several times in each rerun
def shown_name(run_id: int, name: str, config: TrainConfig, lang: str = DEFAULT_LANGUAGE) -> str:
    """A run's name in ``lang``: one the store made (``#3 ConvNet · Adam 0.001``, in whatever language the run was
    started) is made again in ``lang``; one the user gave is shown as given."""
    made = {f"#{run_id} {default_name(config, other)}" for other in LANGUAGES}
    return f"#{run_id} {default_name(config, lang)}" if name in made else name
