"""Training: choose data, model, hyperparameters and device; train with live charts; study and compare runs.

The run is a ``cnnkit.train.jobs.TrainingJob`` kept in this browser session's state; a fragment redraws it from
snapshots while it trains, so the page stays responsive and the run survives a visit to another page.
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from cnnkit.train.charts import (batch_loss_figure, confusion_figure, devices_figure, epoch_figure,
                                    kernels_figure, mistakes, per_class_figure, runs_figure)
from cnnkit.nets.checkpoints import to_bytes
from cnnkit.train.comparison import compare_devices, epoch_seconds
from cnnkit.data.datasets import DATASETS, Dataset, default_data_dir, load_dataset, subset_size
from cnnkit.devices import list_devices
from cnnkit.errors import CnnkitError
from cnnkit.i18n import lookup
from cnnkit.train.jobs import Snapshot, TrainingJob
from cnnkit.nets.builder import FAMILIES, ModelConfig, build_model, count_parameters
from cnnkit.nets.summary import layer_table
from cnnkit.train.presets import PRESETS, preset_values
from cnnkit.train.loop import OPTIMIZERS, SCHEDULES, TrainConfig, TrainResult
from pages.ui import error_text, fmt, lang, num, t, table

# How often the live view redraws, whatever the batch rate. Redrawing a Plotly chart costs the browser far
# more than a progress bar; on a 2-core machine where the browser shares the cores, charts twice a second
# made page training ~40% slower than the CLI, once a second ~7% (docs/training.md).
REFRESH_S = 0.5  # progress bar, images/s, time left
CHART_REFRESH_S = 1.0  # the batch-loss chart
EPOCH_REFRESH_S = 2.0  # the per-epoch charts, which change once an epoch
LIVE = {"staticPlot": True}  # while training, charts are pictures (cheaper to redraw); results are interactive
LOCAL = "local"
SUBSETS = (300, 1000, 3000, 10_000, 30_000, None)  # None: the whole training set


@st.cache_resource(show_spinner=False, max_entries=4)
def load(name: str, folder: str, download: bool) -> Dataset:
    return load_dataset(name, folder, download, progress=lambda message: None)


@st.cache_resource(show_spinner=False)
def devices():
    return list_devices()


@st.cache_data(show_spinner=False, max_entries=64)
def estimate(config: TrainConfig, source: str, _dataset: Dataset) -> float:
    return epoch_seconds(config, _dataset)


def job() -> TrainingJob | None:
    return st.session_state.get("train_job")


def busy() -> bool:
    current = job()
    return current is not None and current.running


def data_settings() -> Dataset | None:
    source = st.selectbox(t("train.dataset"), [*DATASETS, LOCAL], key="train_dataset",
                          format_func=lambda k: t("train.local") if k == LOCAL else DATASETS[k].title)
    if source == LOCAL:
        folder = st.text_input(t("train.folder"), key="train_folder", placeholder="/path/to/idx-folder").strip()
        name = st.radio(t("train.classes_of"), list(DATASETS), format_func=lambda k: DATASETS[k].title,
                        horizontal=True, key="train_local_kind")
        if not folder:
            st.info(t("train.folder_needed"))
            return None
    else:
        name, folder = source, str(default_data_dir())
    try:
        with st.spinner(t("train.loading")):
            dataset = load(name, folder, source != LOCAL)
    except CnnkitError as exc:
        st.error(error_text(exc))
        st.info(t("train.offline_hint"))
        return None
    st.caption(t("train.source", source=dataset.source, train=num(len(dataset.train)), test=num(len(dataset.test))))
    return dataset


def use_recipe() -> None:
    """Set the controls to the chosen recipe's values (the user may change them afterwards)."""
    name = st.session_state.get("train_recipe")
    if name:
        st.session_state.update({f"train_{key}": value for key, value in preset_values(name).items()})


def settings() -> tuple[TrainConfig, Dataset | None]:
    """The controls, and the config and dataset they describe (the dataset is None when it failed)."""
    data_col, model_col, train_col = st.columns(3, gap="large")
    with data_col:
        st.subheader(t("train.data"))
        dataset = data_settings()
        subset = st.select_slider(t("train.subset"), SUBSETS, value=None, key="train_subset",
                                  format_func=lambda n: t("train.all") if n is None else num(n))
        augment = st.toggle(t("train.augment"), key="train_augment", help=t("train.augment_help"))
        labels = {d.id: d.label_in(lang()) for d in devices()}
        device = st.selectbox(t("train.device"), list(labels), format_func=labels.get, key="train_device")
    with model_col:
        st.subheader(t("train.model"))
        model = ModelConfig(
            st.radio(t("train.arch"), list(FAMILIES), format_func=lambda k: t(f"train.archs.{k}"),
                     horizontal=True, key="train_arch"),
            extra_conv=st.toggle(t("train.extra_conv"), key="train_extra_conv"),
            pooling=not st.toggle(t("train.no_pooling"), key="train_no_pooling"),
            padding=not st.toggle(t("train.no_padding"), key="train_no_padding"),
            extra_fc=st.toggle(t("train.extra_fc"), key="train_extra_fc"),
            batchnorm=st.toggle(t("train.batchnorm"), key="train_batchnorm"),
            dropout=st.slider(t("train.dropout"), 0.0, 0.9, 0.0, 0.05, key="train_dropout"))
    with train_col:
        st.subheader(t("train.hyper"))
        st.segmented_control(t("train.recipe"), list(PRESETS), format_func=lambda k: t(f"train.recipes.{k}"),
                             key="train_recipe", on_change=use_recipe, help=t("train.recipe_help"))
        config = TrainConfig(
            dataset=dataset.info.name if dataset else "mnist", model=model,
            epochs=st.number_input(t("train.epochs"), 1, 100, 1, key="train_epochs"),
            batch_size=st.number_input(t("train.batch_size"), 1, 60_000, 64, key="train_batch_size"),
            optimizer=st.selectbox(t("train.optimizer"), OPTIMIZERS, key="train_optimizer",
                                   format_func=lambda k: t(f"train.optimizers.{k}")),
            lr=st.number_input(t("train.lr"), 1e-6, 1e3, 1e-3, 1e-4, format="%g", key="train_lr"),
            schedule=st.selectbox(t("train.schedule"), SCHEDULES, key="train_schedule",
                                  format_func=lambda k: t(f"train.schedules.{k}"), help=t("train.schedule_help")),
            seed=st.number_input(t("train.seed"), 0, 2**31 - 1, 0, key="train_seed"),
            train_subset=subset, augment=augment, device=device)
    return config, dataset


def summary(config: TrainConfig, dataset: Dataset) -> None:
    """Before training: the parameters, the layer table and the measured seconds per epoch."""
    try:
        model = build_model(replace(config.model, num_classes=len(dataset.info.classes)))
        rows = layer_table(model, (1, 1, 28, 28), device="cpu")
    except CnnkitError as exc:
        st.error(error_text(exc))
        return
    params_col, images_col, time_col = st.columns(3)
    params_col.metric(t("train.params"), num(count_parameters(model)))
    images_col.metric(t("train.images"), num(subset_size(dataset.train, config.train_subset)))
    if busy():
        time_col.metric(t("train.estimate"), "—", help=t("train.estimate_busy"))
    else:
        try:
            with st.spinner(t("train.measuring")):
                seconds = estimate(replace(config, epochs=1, lr=1e-3, seed=0), dataset.source, dataset)
            time_col.metric(t("train.estimate"), fmt().seconds(seconds), help=t("train.estimate_help"))
        except CnnkitError as exc:
            time_col.metric(t("train.estimate"), "—")
            st.warning(error_text(exc))
    with st.expander(t("train.layers")):
        table([{t("train.layer_name"): r.name, t("train.layer_type"): r.type,
                t("train.layer_shape"): " × ".join(map(str, r.output_shape[1:])),
                t("train.layer_params"): r.params} for r in rows])


def device_name(device: str) -> str:
    """``cpu`` as the chosen language names it; GPUs by their id."""
    return lookup(f"devices.id.{device}", lang()) or device


def start(config: TrainConfig, dataset: Dataset) -> None:
    count = st.session_state["train_count"] = st.session_state.get("train_count", 0) + 1
    st.session_state["train_job"] = TrainingJob(config, dataset, f"#{count} {config.model.describe()}").start()


def retry(**widgets) -> None:
    """Change some controls (a lower learning rate, the CPU) and train again."""
    st.session_state.update(widgets)
    st.session_state["train_autostart"] = True


def progress_text(snap: Snapshot) -> str:
    if not snap.batches:
        return t("train.preparing")
    if snap.eta is None:
        return t("train.evaluating")
    return t("train.progress", epoch=snap.epoch, epochs=snap.config.epochs, batch=snap.batch, batches=snap.batches)


def epoch_times(snap: Snapshot) -> None:
    """As the notebook printed it: the time of each epoch."""
    if snap.epochs:
        st.caption(" · ".join(t("train.epoch_time", epoch=e.epoch, seconds=fmt().seconds(e.seconds),
                                  acc=fmt().percent(e.test_accuracy)) for e in snap.epochs))


def live_snapshot() -> Snapshot:
    """The running job's snapshot for a live fragment; a full rerun (to the results) once it has ended."""
    snap = job().snapshot()
    if snap.done:
        st.rerun()
    return snap


def live_progress() -> None:
    """Progress, speed and time left, redrawn every ``REFRESH_S`` seconds."""
    snap = live_snapshot()
    bar_col, stop_col = st.columns([5, 1], vertical_alignment="bottom")
    bar_col.progress(min(snap.fraction, 1.0), text=progress_text(snap))
    stop_col.button(t("train.stop"), on_click=job().stop, disabled=snap.stopping, key="train_stop", icon="⏹️",
                    width="stretch")
    rate_col, elapsed_col, left_col = st.columns(3)
    rate_col.metric(t("train.images_per_s"), num(snap.images_per_s))
    elapsed_col.metric(t("train.elapsed"), fmt().seconds(snap.elapsed, 0))
    left_col.metric(t("train.left"), "—" if snap.eta is None else fmt().seconds(snap.eta, 0))


def live_loss() -> None:
    """The batch loss, redrawn every ``CHART_REFRESH_S`` seconds."""
    batch_chart(live_snapshot(), live=True)


def live_epochs() -> None:
    """The per-epoch curves, redrawn every ``EPOCH_REFRESH_S`` seconds."""
    epoch_charts(live_snapshot(), live=True)


def batch_chart(snap: Snapshot, live: bool = False) -> None:
    st.plotly_chart(batch_loss_figure(snap, lang()), key="train_batch_chart", config=LIVE if live else None)


def epoch_charts(snap: Snapshot, live: bool = False) -> None:
    """Loss and accuracy after each epoch, and the time of each epoch."""
    for col, metric in zip(st.columns(2), ("loss", "accuracy")):
        col.plotly_chart(epoch_figure(snap.epochs, metric, snap.config.epochs, lang()), key=f"train_{metric}_chart",
                         config=LIVE if live else None)
    epoch_times(snap)


def outcome(snap: Snapshot) -> None:
    """How the run ended, in words, with a way forward where it failed."""
    config = snap.config
    if snap.state == "completed":
        st.success(t("train.completed", name=snap.name, acc=fmt().percent(snap.result.evaluation.accuracy),
                     seconds=fmt().seconds(snap.result.seconds)))
    elif snap.state == "stopped":
        st.warning(t("train.stopped", name=snap.name, epoch=snap.epoch, batch=snap.batch, batches=snap.batches))
    elif snap.state == "diverged":
        lower = config.lr / 10
        st.error(t("train.diverged", epoch=max(snap.epoch, 1), lr=fmt().value(config.lr), optimizer=config.optimizer,
                   lower=fmt().value(lower)))
        st.button(t("train.retry_lr", lr=fmt().value(lower)), on_click=retry, kwargs={"train_lr": lower})
    else:
        st.error(error_text(snap.error))
        if snap.out_of_memory:
            st.button(t("train.retry_cpu"), on_click=retry, kwargs={"train_device": "cpu"})


def use_for_drawing(result: TrainResult, name: str) -> None:
    st.session_state["inference_checkpoint"] = result.to_checkpoint()
    st.session_state["inference_checkpoint_name"] = name


def results(current: TrainingJob) -> None:
    snap = current.snapshot()
    outcome(snap)
    result = snap.result
    if snap.state not in ("completed", "stopped") or result.evaluation is None:
        return
    ev, data = result.evaluation, current.dataset
    epochs = [e.seconds for e in snap.epochs]
    acc_col, loss_col, params_col, time_col, device_col = st.columns(5)
    acc_col.metric(t("train.test_accuracy"), fmt().percent(ev.accuracy))
    loss_col.metric(t("train.test_loss"), num(ev.loss, 4))
    params_col.metric(t("train.params"), num(result.params))
    time_col.metric(t("train.seconds_per_epoch"), fmt().seconds(sum(epochs) / len(epochs)) if epochs else "—")
    device_col.metric(t("train.device"), device_name(result.device))
    download_col, use_col = st.columns(2)
    download_col.download_button(t("train.download"), lambda: to_bytes(result.to_checkpoint()),
                                 file_name=f"{result.config.model.describe()}.pt", on_click="ignore", icon="💾")
    using = st.session_state.get("inference_checkpoint_name") == snap.name
    use_col.button(t("train.used") if using else t("train.use"), on_click=use_for_drawing,
                   args=(result, snap.name), disabled=using, icon="✏️")
    curves, per_class, confusion, wrong, kernels = st.tabs(
        [t("train.tab_curves"), t("train.tab_per_class"), t("train.tab_confusion"), t("train.tab_mistakes"),
         t("train.tab_kernels")])
    with curves:
        batch_chart(snap)
        epoch_charts(snap)
    per_class.plotly_chart(per_class_figure(ev, data.info.classes, lang()))
    confusion.plotly_chart(confusion_figure(ev, data.info.classes, lang()))
    with wrong:
        shown = mistakes(ev, data.test, data.info.classes)
        st.caption(t("train.mistakes", shown=len(shown), total=len(ev.misclassified), test=len(data.test)))
        if shown:
            st.image([m.image for m in shown], width=84,
                     caption=[t("train.mistake", true=m.true, predicted=m.predicted, p=fmt().percent(m.probability, 0))
                              for m in shown])
    with kernels:
        st.caption(t("train.kernels_help"))
        st.plotly_chart(kernels_figure(result.model, lang()))


def history() -> None:
    """The session's runs as a table, and the curves of the runs chosen, overlaid."""
    runs = st.session_state.setdefault("train_runs", {})
    current = job()
    record = current.record() if current else None
    if record:
        runs.setdefault(record.name, record)
    if not runs:
        st.info(t("train.no_runs"))
        return
    st.caption(t("train.runs_help"))
    rows = [{**r.row(), "status": t(f"train.states.{r.status}")} for r in runs.values()]
    formats = {"lr": fmt().value, "seconds_per_epoch": fmt().seconds, "test_accuracy": fmt().percent,
               "device": device_name}
    table([{t(f"train.col.{k}"): v for k, v in row.items()} for row in rows],
          {t(f"train.col.{k}"): f for k, f in formats.items()})
    chosen = st.multiselect(t("train.overlay"), list(runs), default=list(runs)[-3:])
    if chosen:
        for col, metric in zip(st.columns(2), ("accuracy", "loss")):
            col.plotly_chart(runs_figure([runs[name] for name in chosen], metric, lang()))


def device_comparison(config: TrainConfig, dataset: Dataset | None) -> None:
    found = devices()
    st.caption(t("train.devices_help"))
    if len(found) == 1:
        st.info(t("train.cpu_only"))
    if st.button(t("train.compare"), disabled=dataset is None or busy(), icon="⚡",
                 help=t("train.compare_busy") if busy() else None):
        try:
            with st.spinner(t("train.measuring_devices", n=len(found))):
                st.session_state["train_speeds"] = compare_devices(config, dataset, found)
        except CnnkitError as exc:
            st.error(error_text(exc))
    speeds = st.session_state.get("train_speeds")
    if speeds:
        st.plotly_chart(devices_figure(speeds, lang()))
        table([{t("train.device"): s.device.label_in(lang()), t("train.images_per_s"): round(s.images_per_s),
                t("train.speedup"): f"×{num(s.speedup, 1)}", t("train.notebook_run"): fmt().seconds(s.notebook_seconds, 0)}
               for s in speeds])


st.title(t("train.title"))
st.markdown(t("train.intro"))
train_tab, runs_tab, devices_tab = st.tabs([t("train.tab_train"), t("train.tab_runs"), t("train.tab_devices")])
with train_tab:
    config, dataset = settings()
    if dataset:
        summary(config, dataset)
    clicked = st.button(t("train.start"), type="primary", icon="🏋️", disabled=dataset is None or busy(),
                        key="train_start")
    if (clicked or st.session_state.pop("train_autostart", False)) and dataset and not busy():
        start(config, dataset)
    if job() and busy():
        st.fragment(live_progress, run_every=REFRESH_S)()
        st.fragment(live_loss, run_every=CHART_REFRESH_S)()
        st.fragment(live_epochs, run_every=EPOCH_REFRESH_S)()
    elif job():
        results(job())
with runs_tab:
    history()
with devices_tab:
    device_comparison(config, dataset)
