"""Training: choose data, model, hyperparameters and device; train with live charts; study and compare runs.

A run is a job of the server's ``JobManager`` (``pages.ui.job_manager``), stored in the run store with the
CLI's runs; the URL names it (``?run=ID``) with the user's token (``?u=``), so a reload, another page or a
second tab finds it again. Fragments redraw it from snapshots while it trains.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace

import streamlit as st

from cnnkit.data.datasets import (
    DATASETS,
    Dataset,
    DatasetInfo,
    class_names,
    default_data_dir,
    load_dataset,
    subset_choices,
    subset_size,
)
from cnnkit.devices import device_name, list_devices
from cnnkit.errors import CnnkitError, FailureKind
from cnnkit.nets.builder import ModelConfig
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.nets.families import FAMILIES
from cnnkit.nets.summary import model_summary
from cnnkit.paths import allowed_path
from cnnkit.train.charts import (
    LIVE_POINTS,
    batch_loss_figure,
    confusion_figure,
    devices_figure,
    epoch_figure,
    first_conv,
    kernels_figure,
    mistakes,
    per_class_figure,
    runs_bars_figure,
    runs_figure,
    training_worse_note,
)
from cnnkit.train.comparison import compare_devices, comparison_table, epoch_seconds
from cnnkit.train.jobs import Snapshot, TrainingJob, snapshot_of
from cnnkit.train.loop import OPTIMIZERS, SCHEDULES, TrainConfig, default_batch
from cnnkit.train.presets import PRESETS, preset_values
from cnnkit.train.store import FINETUNE, Run, evaluation_from_dict, parse_id, reason_text, unended_text
from cnnkit.train.transfer import TransferPlan
from pages import augment as augment_settings
from pages import collect, embedmap, exports, images, network, snapshots, transfer
from pages.ui import (
    classroom,
    error_text,
    fmt,
    job_manager,
    keep_in_url,
    lang,
    names,
    num,
    owner,
    page_navigation,
    private_runs,
    run_store,
    t,
    table,
)

page_navigation()  # a first request of the server to this page's URL: see pages/ui.py

# How often the live view redraws, whatever the batch rate. On a 2-core machine the browser shares the cores with
# training, and every redraw of a fragment costs it ~0.2 s of CPU for this long page (React renders the app again),
# whatever the fragment holds; a Plotly chart costs more on top. Progress every second, charts every 2 s and the
# snapshot every 3 s in three fragments took ~3.5 s of the browser's CPU in a 12 s run with the charts off and
# ~6.5 s with them on (docs/training.md). So the whole live view is one fragment, redrawn every LIVE_S; the
# batch-loss chart has a bounded number of binned points (LIVE_POINTS), and the per-epoch charts go out unchanged
# between two epochs (the same figure is the same element: the browser keeps its plot).
LIVE_S = 2.0  # progress bar, images/s, time left, and with live charts on the charts and the newest snapshot
LIVE = {"staticPlot": True}  # while training, charts are pictures (cheaper to redraw); results are interactive
LOCAL = "local"
FOLDER = "folder"  # your own images (pages/images.py)
SUBSETS = (300, 1000, 3000, 10_000, 30_000, None)  # None: the whole training set
AUTO_BATCH = "train_batch_auto"  # the batch the control last started at for the data chosen (not the user's own)


@st.cache_resource(show_spinner=False, max_entries=4)
def load(name: str | None, folder: str, download: bool) -> Dataset:
    return load_dataset(name, folder, download, progress=lambda message: None)


@st.cache_resource(show_spinner=False)
def devices():
    return list_devices()


@st.cache_data(show_spinner=False, max_entries=32)
def described(model: ModelConfig, info: DatasetInfo) -> tuple[int, list]:
    """``model_summary``, once per network and data: a torchvision backbone takes 0.1–0.2 s to build on ``meta``."""
    return model_summary(model, info)


@st.cache_data(show_spinner=False, max_entries=64)
def estimate(config: TrainConfig, source: str, _dataset: Dataset) -> float:
    return epoch_seconds(config, _dataset)


def current_run() -> int | None:
    """The run this page shows: the URL's ``?run=``, else this session's last one, else the user's job; kept in
    the session and the URL (a visit to another page clears the URL's parameters)."""
    value = st.query_params.get("run") or st.session_state.get("train_run") or job_manager().active(owner())
    try:
        run_id = parse_id(value) if value else None
    except CnnkitError:
        return None
    if run_id is not None:
        st.session_state["train_run"] = run_id
        keep_in_url("run", str(run_id))
    return run_id


def url_run_error() -> CnnkitError | None:
    """Why the URL's ``?run=`` is not a run id, when it is not (a typed or damaged link)."""
    try:
        parse_id(st.query_params.get("run") or "0")
    except CnnkitError as exc:
        return exc
    return None


def job() -> TrainingJob | None:
    """The user's own queued or running job that this page shows, if any."""
    found = job_manager().job(current_run())
    return found if found is not None and found.owner == owner() and found.running else None


def busy() -> bool:
    """Whether this user has a job queued or training (one at a time)."""
    return job_manager().active(owner()) is not None


def data_settings() -> Dataset | None:
    # the labels of this run's language, fixed now (a later rerun in another language must still find them)
    sources = [
        *((k, d.title) for k, d in DATASETS.items()),
        (LOCAL, t("train.local")),
        (FOLDER, t("build.data.choice")),
    ]
    images.reopen_collection()
    source = st.selectbox(
        t("train.dataset"), [k for k, _ in sources], key="train_dataset", format_func=dict(sources).__getitem__
    )
    if source == FOLDER:
        return images.folder_data()
    if source == LOCAL:
        folder = st.text_input(t("train.folder"), key="train_folder", placeholder="/path/to/idx-folder").strip()
        name = None  # the folder's content says what it holds
        if not folder:
            st.info(t("train.folder_needed"))
            return None
    else:
        name, folder = source, str(default_data_dir())
    try:
        if source == LOCAL:
            folder = str(allowed_path(folder, "folder"))
        with st.spinner(t("train.loading")):
            dataset = load(name, folder, source != LOCAL)
    except CnnkitError as exc:
        st.error(error_text(exc))
        st.info(t("train.offline_hint"))
        return None
    st.caption(
        t(
            "safety.data_source",
            data=dataset.info.label(lang()),
            train=num(len(dataset.train)),
            test=num(len(dataset.test)),
            classes=", ".join(class_names(dataset.info.classes, lang())),
        )
    )
    st.session_state["train_data_dir"] = folder  # kept with the run, to show its mistakes later
    return dataset


def use_recipe() -> None:
    """Set the controls to the chosen recipe's values (the user may change them afterwards)."""
    name = st.session_state.get("train_recipe")
    if name:
        values = preset_values(name)
        layers = values.pop("layers", None)
        st.session_state["train_network"] = "switches" if layers is None else "layers"
        if layers is not None:
            network.fill_spec(layers)
        st.session_state.update({f"train_{key}": value for key, value in values.items()})


def settings() -> tuple[TrainConfig, Dataset | None, CnnkitError | None]:
    """The controls, and the config and dataset they describe (the dataset is None when it failed), with what
    keeps a pretrained network from training (absent or wrong weights)."""
    data_col, model_col, train_col = st.columns(3, gap="large")
    with data_col:
        st.subheader(t("train.data"))
        dataset = data_settings()
        total = len(dataset.train) if dataset else None
        offered = subset_choices(SUBSETS, total)
        if st.session_state.get("train_subset") not in offered:  # a smaller dataset than the last one
            st.session_state.pop("train_subset")
        whole = t("safety.subset_all", total=num(total)) if total else t("train.all")
        number = fmt().number  # the language of this run, not of whoever formats the options later
        subset = st.select_slider(
            t("train.subset"), offered, value=None, key="train_subset", format_func=lambda n: number(n) if n else whole
        )
        augment = st.toggle(t("train.augment"), key="train_augment", help=t("train.augment_help"))
        augmentation = augment_settings.settings(dataset)
        labels = {d.id: d.label_in(lang()) for d in devices()}
        device = st.selectbox(t("train.device"), list(labels), format_func=labels.get, key="train_device")
    with model_col:
        st.subheader(t("train.model"))
        own = st.segmented_control(
            t("build.ui.mode"),
            ("switches", "layers", "pretrained"),
            key="train_network",
            default="switches",
            format_func=names("build.ui.mode", "_"),
            help=t("build.ui.mode_help"),
            wrap=True,  # three choices do not fit the column's width in one row
        )
        if own == "layers":
            st.info(t("build.ui.below"))
        chosen = transfer.controls(device) if own == "pretrained" else None
        model = (
            chosen.model
            if chosen
            else ModelConfig(layers=())
            if own == "layers"
            else ModelConfig(
                st.radio(
                    t("train.arch"), list(FAMILIES), format_func=names("train.archs"), horizontal=True, key="train_arch"
                ),
                extra_conv=st.toggle(t("train.extra_conv"), key="train_extra_conv"),
                pooling=not st.toggle(t("train.no_pooling"), key="train_no_pooling"),
                padding=not st.toggle(t("train.no_padding"), key="train_no_padding"),
                extra_fc=st.toggle(t("train.extra_fc"), key="train_extra_fc"),
                batchnorm=st.toggle(t("train.batchnorm"), key="train_batchnorm"),
                dropout=st.slider(t("train.dropout"), 0.0, 0.9, 0.0, 0.05, key="train_dropout"),
            )
        )
    with train_col:
        st.subheader(t("train.hyper"))
        st.segmented_control(
            t("train.recipe"),
            list(PRESETS),
            format_func=names("train.recipes"),
            key="train_recipe",
            on_change=use_recipe,
            help=t("train.recipe_help"),
        )
        config = TrainConfig(
            dataset=dataset.info.name if dataset else "mnist",
            data_dir=st.session_state.get("train_data_dir"),
            model=model,
            folder=st.session_state.get("train_folder_options") if dataset and dataset.info.name == FOLDER else None,
            epochs=st.number_input(t("train.epochs"), 1, 100, 1, key="train_epochs"),
            batch_size=batch_input(dataset, subset),
            optimizer=st.selectbox(
                t("train.optimizer"), OPTIMIZERS, key="train_optimizer", format_func=names("train.optimizers")
            ),
            lr=st.number_input(t("train.lr"), 1e-6, 1e3, 1e-3, 1e-4, format="%g", key="train_lr"),
            schedule=st.selectbox(
                t("train.schedule"),
                SCHEDULES,
                key="train_schedule",
                format_func=names("train.schedules"),
                help=t("train.schedule_help"),
            ),
            label_smoothing=st.slider(
                t("train.label_smoothing"),
                0.0,
                0.5,
                0.0,
                0.05,
                key="train_label_smoothing",
                help=t("train.label_smoothing_help"),
            ),
            # a pretrained start keeps its first weights (TrainConfig.validate refuses both)
            whiten=st.toggle(t("train.whiten"), key="train_whiten", help=t("train.whiten_help"), disabled=bool(chosen))
            and not chosen,
            seed=st.number_input(t("train.seed"), 0, 2**31 - 1, 0, key="train_seed"),
            train_subset=subset,
            augment=augment,
            **asdict(augmentation),
            device=device,
            weights=chosen.weights if chosen else None,
        )
    return config, dataset, chosen.problem if chosen else None


def batch_input(dataset: Dataset | None, subset: int | None) -> int:
    """The batch size control: it starts at the default batch, or at the training set's size where that is
    smaller (a small class folder), so that the first run does not start with a batch its data cannot fill; it
    follows the data chosen later (MNIST, then a class folder) until the user gives a batch of their own."""
    images = subset_size(dataset.train, subset) if dataset else None
    automatic = default_batch(images)
    if st.session_state.get("train_batch_size") in (None, st.session_state.get(AUTO_BATCH)):
        st.session_state["train_batch_size"] = automatic
    st.session_state[AUTO_BATCH] = automatic
    return st.number_input(t("train.batch_size"), 1, 60_000, key="train_batch_size")


def summary(config: TrainConfig, dataset: Dataset, plan: TransferPlan | None = None) -> None:
    """Before training: the parameters, the layer table and the measured seconds per epoch (a pretrained
    network's ``plan`` showed its own estimates above)."""
    try:
        params, rows = described(config.model, dataset.info)
    except CnnkitError as exc:
        st.error(error_text(exc))
        return
    params_col, images_col, time_col = st.columns(3)
    params_col.metric(t("train.params"), num(params))
    images_col.metric(t("train.images"), num(subset_size(dataset.train, config.train_subset)))
    if plan is None:  # a plan's counts above have the epochs' estimates
        epoch_estimate(time_col, config, dataset)
    with st.expander(t("train.layers")):
        table(
            [
                {
                    t("train.layer_name"): r.name,
                    t("train.layer_type"): r.type,
                    t("train.layer_shape"): " × ".join(map(str, r.output_shape[1:])),
                    t("train.layer_params"): r.params,
                }
                for r in rows
            ]
        )


def fix_first(config: TrainConfig) -> str:
    """The key of what the Train button says while the settings cannot train."""
    return "train.transfer.fix_first" if config.model.backbone else "build.ui.fix_first"


def epoch_estimate(place, config: TrainConfig, dataset: Dataset) -> None:
    """The measured seconds of an epoch as a metric in ``place`` (a dash while a run trains)."""
    if busy():
        place.metric(t("train.estimate"), "—", help=t("train.estimate_busy"))
        return
    try:
        with st.spinner(t("train.measuring")):
            seconds = estimate(replace(config, epochs=1, lr=1e-3, seed=0), dataset.source, dataset)
        place.metric(t("train.estimate"), fmt().seconds(seconds), help=t("train.estimate_help"))
    except CnnkitError as exc:
        place.metric(t("train.estimate"), "—")
        st.warning(error_text(exc))


def start(config: TrainConfig, dataset: Dataset) -> None:
    try:
        run_id = job_manager().submit(config, dataset, owner=owner(), lang=lang())
    except CnnkitError as exc:
        st.error(error_text(exc))
        return
    st.session_state["train_run"] = run_id
    st.query_params["run"] = str(run_id)
    st.rerun()  # the Train button, drawn before the run existed, is drawn again disabled


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
        st.caption(
            " · ".join(
                t(
                    "train.epoch_time",
                    epoch=e.epoch,
                    seconds=fmt().seconds(e.seconds),
                    acc=fmt().percent(e.test_accuracy),
                )
                for e in snap.epochs
            )
        )


def live_snapshot() -> Snapshot:
    """The running job's snapshot for a live fragment; a full rerun (to the results) once it has ended."""
    current = job()
    snap = current.snapshot() if current else None
    if snap is None or snap.done:
        st.rerun()
    return snap


def stop_job(run_id: int) -> None:
    try:
        job_manager().stop(run_id, owner())
    except CnnkitError as exc:
        st.session_state["train_notice"] = error_text(exc)


def live_view() -> None:
    """The running job, redrawn every ``LIVE_S`` seconds: progress, speed and time left (or the place in the
    queue); with *Live charts* on, the batch loss, the per-epoch curves and the newest snapshot beside them."""
    snap = live_snapshot()
    job_manager().seen(owner())
    if snap.state == "queued":
        queued(snap)
        return
    progress(snap)
    if not st.session_state["train_live_charts"]:
        st.caption(t("train.live_charts_off"))
        return
    if snap.state == "running":
        batch_chart(snap, live=True)
        epoch_charts(snap, live=True)
    snapshots.live(snap.run_id)


def queued(snap: Snapshot) -> None:
    """A run waiting for the one before it: its place in the queue, and a way to cancel it."""
    info_col, cancel_col = st.columns([5, 1], vertical_alignment="bottom")
    info_col.info(t("runs.page.queued", position=job_manager().position(snap.run_id) or 1, name=snap.title(lang())))
    cancel_col.button(
        t("runs.page.cancel"), on_click=stop_job, args=(snap.run_id,), key="train_cancel", icon="✖️", width="stretch"
    )


def progress(snap: Snapshot) -> None:
    """The progress bar with a stop button, the images per second, the time spent and the time left."""
    bar_col, stop_col = st.columns([5, 1], vertical_alignment="bottom")
    bar_col.progress(min(snap.fraction, 1.0), text=f"{snap.title(lang())} · {progress_text(snap)}")
    stop_col.button(
        t("train.stop"),
        on_click=stop_job,
        args=(snap.run_id,),
        disabled=snap.stopping,
        key="train_stop",
        icon="⏹️",
        width="stretch",
    )
    rate_col, elapsed_col, left_col = st.columns(3)
    rate_col.metric(t("train.images_per_s"), num(snap.images_per_s))
    elapsed_col.metric(t("train.elapsed"), fmt().seconds(snap.elapsed, 0))
    left_col.metric(t("train.left"), "—" if snap.eta is None else fmt().seconds(snap.eta, 0))


def batch_chart(snap: Snapshot, live: bool = False, place: str = "train") -> None:
    figure = batch_loss_figure(snap, lang(), LIVE_POINTS if live else None)
    st.plotly_chart(figure, key=f"{place}_batch_chart", config=LIVE if live else None)


def epoch_charts(snap: Snapshot, live: bool = False, place: str = "train") -> None:
    """Loss and accuracy after each epoch, and the time of each epoch."""
    for col, metric in zip(st.columns(2), ("loss", "accuracy")):
        col.plotly_chart(
            epoch_figure(snap.epochs, metric, snap.config.epochs, lang()),
            key=f"{place}_{metric}_chart",
            config=LIVE if live else None,
        )
    epoch_times(snap)
    note = training_worse_note(snap.epochs, snap.config, lang())
    if note:
        st.caption(note)


def resume(run_id: int) -> None:
    """Train a stopped run's remaining epochs from what it kept, on its own data, as this session's job."""
    try:
        run = run_store().get(run_id)
        job_manager().resume(
            run.id,
            images.run_dataset(run),
            owner=owner(),
            machine_runs=not classroom(),
            device=st.session_state.get("train_device"),  # where this page trains now, as a new run would
        )
    except CnnkitError as exc:
        st.session_state["train_notice"] = error_text(exc)
        return
    st.session_state["train_run"] = run_id
    st.query_params["run"] = str(run_id)


def resume_button(run: Run, place: str) -> None:
    """Continue a run that can go on training, for whoever may change it."""
    if run.resumable and editable(run):
        st.button(
            t("train.resume", count=run.epochs_left),
            on_click=resume,
            args=(run.id,),
            disabled=busy(),
            help=t("train.start_busy") if busy() else None,
            icon="▶️",
            key=f"{place}_resume_{run.id}",
        )


def outcome(run: Run, place: str = "train") -> None:
    """How the run ended, in words, with a way forward where it failed; what it does while it has not ended."""
    if not run.ended:
        st.info(unended_text(run, lang()))
    elif run.status == "finished":
        st.success(
            t(
                "train.completed",
                name=run.title(lang()),
                acc=fmt().percent(run.test_accuracy or 0),
                seconds=fmt().seconds(run.seconds or 0),
            )
        )
    elif run.status == "stopped":
        kept = "stopped" if run.epochs else "stopped_empty"  # nothing kept: nothing to resume
        by_user = (run.reason or {}).get("key") == "runs.reasons.stopped"  # what the message says already
        reason = "" if by_user else f" ({reason_text(run.reason, lang())})"
        st.warning(t(f"runs.page.{kept}", name=run.title(lang()), count=len(run.epochs), reason=reason))
        resume_button(run, place)
    elif run.failure is FailureKind.DIVERGED:  # the stored cause: NaN loss, growing loss or NaN weights
        lower = run.train_config.lr / 10
        st.error(reason_text(run.reason, lang()))
        st.button(
            t("train.retry_lr", lr=fmt().value(lower)),
            on_click=retry,
            kwargs={"train_lr": lower},
            key="train_retry_lr",
            type="primary",
        )
    else:
        st.error(t("runs.page.failed", name=run.title(lang()), reason=reason_text(run.reason, lang())))
        if run.failure is FailureKind.GPU_OUT_OF_MEMORY:
            st.button(t("train.retry_cpu"), on_click=retry, kwargs={"train_device": "cpu"})
        resume_button(run, place)


@st.cache_resource(show_spinner=False, max_entries=8)
def stored_checkpoint(run_id: int, finished: float | None) -> Checkpoint:
    return run_store().load(run_id)


def use_for_drawing(run_id: int) -> None:
    """Select the run's model on the drawing page."""
    st.session_state["draw_model"] = f"run:{run_id}"


def actions(run: Run, place: str) -> None:
    """Download the run's checkpoint; use it on the drawing page (``place``: the tab that shows them, so that a
    run shown on two tabs has its buttons twice)."""
    download_col, use_col = st.columns(2)
    try:
        data = run_store().checkpoint_path(run.id).read_bytes()
    except (CnnkitError, OSError):
        data = None
    download_col.download_button(
        t("train.download"),
        data or b"",
        disabled=data is None,
        key=f"{place}_dl_{run.id}",
        file_name=f"cnnkit-run-{run.id}.pt",
        on_click="ignore",
        icon="💾",
    )
    using = st.session_state.get("draw_model") == f"run:{run.id}"
    use_col.button(
        t("train.used") if using else t("train.use"),
        on_click=use_for_drawing,
        args=(run.id,),
        disabled=using or data is None,
        icon="✏️",
        key=f"{place}_use_{run.id}",
    )
    exports.downloads(run, place)


def results(run: Run, *, place: str = "train", with_actions: bool = True) -> None:
    """A run's results, from the store: the same for a run of this session, of the CLI or of yesterday; on the
    tab ``place`` (a run may be shown on two tabs at once), with its buttons unless the caller has drawn them."""
    outcome(run, place)
    if run.status not in ("finished", "stopped") or not run.evaluation:
        return
    ev = evaluation_from_dict(run.evaluation)
    snap = snapshot_of(run)
    acc_col, loss_col, params_col, time_col, device_col = st.columns(5)
    acc_col.metric(t("train.test_accuracy"), fmt().percent(ev.accuracy))
    loss_col.metric(t("train.test_loss"), num(ev.loss, 4))
    params_col.metric(t("train.params"), num(run.parameters or 0))
    time_col.metric(t("train.seconds_per_epoch"), fmt().seconds(run.seconds_per_epoch) if run.epochs else "—")
    device_col.metric(t("train.device"), device_name(run.device, lang()))
    if with_actions:
        actions(run, place)
    classes = class_names(
        DATASETS[run.dataset].classes
        if run.dataset in DATASETS
        else images.run_classes(run) or [str(i) for i in range(len(ev.per_class))],
        lang(),
    )
    curves, per_class, confusion, wrong, kernels, epochs, test_map = st.tabs(
        [
            t("train.tab_curves"),
            t("train.tab_per_class"),
            t("train.tab_confusion"),
            t("train.tab_mistakes"),
            t("train.tab_kernels"),
            t("snapshots.tab"),
            t("embedding.title"),
        ]
    )
    with curves:
        batch_chart(snap, place=place)
        epoch_charts(snap, place=place)
    per_class.plotly_chart(per_class_figure(ev, classes, lang()), key=f"{place}_per_class_chart")
    confusion.plotly_chart(confusion_figure(ev, classes, lang()), key=f"{place}_confusion_chart")
    with wrong:
        data = None
        try:
            data = images.run_dataset(run)
        except CnnkitError:
            st.caption(t("runs.page.no_data"))
        if data is not None:
            shown = mistakes(ev, data.test, classes)
            st.caption(t("train.mistakes", shown=len(shown), total=ev.wrong, test=ev.tested))
            if shown:
                st.image(
                    [m.image for m in shown],
                    width=84,
                    caption=[
                        t("train.mistake", true=m.true, predicted=m.predicted, p=fmt().percent(m.probability, 0))
                        for m in shown
                    ],
                )
    with test_map:
        embedmap.run_section(run, classes, place)
    with kernels:
        try:
            model = stored_checkpoint(run.id, run.finished).model
        except CnnkitError as exc:
            st.error(error_text(exc))
        else:
            conv = first_conv(model)
            if conv is None:
                st.info(t("train.no_kernels"))
            else:
                st.caption(t("train.kernels_colour_help" if conv.in_channels == 3 else "train.kernels_help"))
                st.plotly_chart(kernels_figure(model, lang()), key=f"{place}_kernels_chart")
    with epochs:
        snapshots.through_epochs(run, place)


def editable(run: Run) -> bool:
    """The user's own runs; the machine's (CLI) runs too unless the app serves a class."""
    return run.owner == owner() or (run.owner is None and not classroom())


def visible_runs() -> list[Run]:
    """The runs this user may see: their own, and everyone's ended runs unless the app keeps runs private."""
    return run_store().list(owner=owner(), include_others=not private_runs())


def run_row(run: Run) -> dict:
    status = t(f"runs.states.{run.status}")
    if run.status == "running":
        status = f"{status} {fmt().percent(run.progress, 0)}"
    return {
        "id": run.id,
        "name": run.title(lang()),
        "status": status,
        "source": t(f"runs.sources.{run.source}"),
        "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created)),
        "epochs": None if run.source == FINETUNE else f"{len(run.epochs)}/{run.config.get('epochs', '?')}",
        "test_accuracy": run.test_accuracy,
        "parameters": run.parameters,
        "seconds_per_epoch": run.seconds_per_epoch,
        "device": device_name(run.device, lang()) if run.device else None,
    }


def manage(run: Run) -> None:
    """Rename or delete one run; download it; use it for drawing; open its results."""
    actions(run, "picked")
    if editable(run):
        name_col, rename_col, delete_col = st.columns([4, 1, 1], vertical_alignment="bottom")
        shown = run.title(lang())
        name = name_col.text_input(t("runs.page.name"), shown, key=f"runs_name_{run.id}", max_chars=120)
        if rename_col.button(t("runs.page.rename"), key=f"runs_rename_{run.id}", disabled=name == shown):
            try:
                run_store().rename(run.id, name)
                st.rerun()
            except CnnkitError as exc:
                st.error(error_text(exc))
        if delete_col.button(t("runs.page.delete"), key=f"runs_delete_{run.id}", icon="🗑️", disabled=not run.ended):
            run_store().remove(run.id)
            st.rerun()
    else:
        st.caption(t("runs.page.read_only"))
    with st.expander(t("runs.page.results", name=run.title(lang()))):
        results(run, place="picked", with_actions=False)


def compare_runs(runs: list[Run]) -> None:
    """The chosen runs side by side: what differs between them, their curves, their figures."""
    rows, formats = comparison_table(runs, lang())
    table(rows, formats, column_config=wide_name())
    for col, metric in zip(st.columns(2), ("accuracy", "loss")):
        col.plotly_chart(runs_figure(runs, metric, lang()), key=f"runs_{metric}_chart")
    st.plotly_chart(runs_bars_figure(runs, lang()), key="runs_bars_chart")


def wide_name() -> dict:
    """Run names in full: the name column is wide."""
    return {t("runs.cols.name"): st.column_config.TextColumn(width="large")}


def history() -> None:
    """Every stored run (this page's, the CLI's, yesterday's), to manage and to compare."""
    runs = visible_runs()
    if not runs:
        st.info(t("train.no_runs"))
        return
    st.caption(t("runs.page.help"))
    rows = [run_row(r) for r in runs]
    picked = table(
        [{t(f"runs.cols.{k}"): v for k, v in row.items()} for row in rows],
        {t("runs.cols.test_accuracy"): fmt().percent, t("runs.cols.seconds_per_epoch"): fmt().seconds},
        on_select="rerun",
        selection_mode="multi-row",
        key="runs_table",
        column_config=wide_name(),
    )
    chosen = [runs[i] for i in picked.selection.rows if i < len(runs)]
    if not chosen:
        st.caption(t("runs.page.pick"))
    elif len(chosen) == 1:
        manage(chosen[0])
    if chosen:
        compare_runs(chosen)


def device_comparison(config: TrainConfig, dataset: Dataset | None) -> None:
    found = devices()
    st.caption(t("train.devices_help"))
    if len(found) == 1:
        st.info(t("train.cpu_only"))
    if st.button(
        t("train.compare"),
        disabled=dataset is None or busy(),
        icon="⚡",
        help=t("train.compare_busy") if busy() else None,
    ):
        try:
            with st.spinner(t("train.measuring_devices", n=len(found))):
                st.session_state["train_speeds"] = compare_devices(config, dataset, found)
        except CnnkitError as exc:
            st.error(error_text(exc))
    speeds = st.session_state.get("train_speeds")
    if speeds:
        st.plotly_chart(devices_figure(speeds, lang()))
        table(
            [
                {
                    t("train.device"): s.device.label_in(lang()),
                    t("train.images_per_s"): round(s.images_per_s),
                    t("train.speedup"): f"×{num(s.speedup, 1)}",
                    t("train.notebook_run"): fmt().seconds(s.notebook_seconds, 0),
                }
                for s in speeds
            ]
        )


st.title(t("train.title"))
st.markdown(t("train.intro"))
train_tab, runs_tab, devices_tab = st.tabs([t("train.tab_train"), t("train.tab_runs"), t("train.tab_devices")])
with train_tab:
    config, dataset, problem = settings()
    if images.collecting():
        collect.editor()
    if dataset and dataset.info.name == FOLDER:
        images.overview(dataset)
    valid, plan = True, None
    if config.model.backbone is not None:  # a pretrained network
        plan = transfer.section(config, dataset, problem)
        valid = plan is not None
    if config.model.layers is not None:  # the network builder
        info = dataset.info if dataset else DATASETS["mnist"]
        built = network.network_section((info.channels, info.size, info.size), len(info.classes))
        valid = built is not None
        config = replace(config, model=built or config.model)
    if dataset and valid:
        summary(config, dataset, plan)
    start_col, live_col = st.columns([1, 3], vertical_alignment="center")
    clicked = start_col.button(
        t("train.start"),
        type="primary",
        icon="🏋️",
        key="train_start",
        disabled=dataset is None or busy() or not valid,
        help=t("train.start_busy") if busy() else None if valid else t(fix_first(config)),
    )
    st.session_state.setdefault("train_live_charts", True)
    live_col.toggle(t("train.live_charts"), key="train_live_charts", help=t("train.live_charts_help"))
    if (clicked or st.session_state.pop("train_autostart", False)) and dataset and valid and not busy():
        start(config, dataset)
    if "train_notice" in st.session_state:
        st.warning(st.session_state.pop("train_notice"))
    if job():
        st.fragment(live_view, run_every=LIVE_S)()
    elif current_run() is not None:
        try:
            results(run_store().get(current_run()))
        except CnnkitError as exc:
            st.error(error_text(exc))
    elif url_run_error() is not None:
        st.error(error_text(url_run_error()))
with runs_tab:
    history()
with devices_tab:
    device_comparison(config, dataset)
