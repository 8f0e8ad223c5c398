"""A fine-tuned model the learner keeps is a run of the store: there tomorrow, with the accuracy measured before
and after and the model it started from, in the drawing page's model choice and the training page's runs."""

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from cnnkit.data.datasets import load_dataset
from cnnkit.data.preprocess import normalize
from cnnkit.i18n import text
from cnnkit.infer.finetune import finetune, keep_as_run, sample
from cnnkit.infer.predict import DEFAULT_CHECKPOINT, load_model, probabilities
from cnnkit.train.store import RunStore
from tests.support import ROOT

NAME = "Fine-tuned on my drawings, from “Shipped model”"


@pytest.fixture(scope="module")
def tuned(mnist5k):
    """The shipped model fine-tuned on eight test images taken for drawings, checked on 300 others."""
    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip(f"the shipped model {DEFAULT_CHECKPOINT} is absent")
    data = load_dataset("mnist", mnist5k, download=False)
    drawings = data.test.images[-8:].numpy() / 255
    result = finetune(
        load_model(),
        drawings,
        data.test.labels[-8:].tolist(),
        steps=20,
        check=sample(data.test, 300),
        rehearsal=sample(data.train, 300),
    )
    return result, drawings


def test_a_kept_fine_tuning_is_a_finished_run_there_the_next_day(tmp_path, tuned):
    result, drawings = tuned
    run_id = keep_as_run(RunStore(tmp_path), result, parent="shipped", name=NAME, owner="a" * 24)
    store = RunStore(tmp_path)  # tomorrow: another process opens the store
    (run,) = store.list()
    assert (run.id, run.name, run.source, run.status, run.owner) == (run_id, NAME, "finetune", "finished", "a" * 24)
    assert run.has_model and run.test_accuracy == run.best_accuracy == result.accuracy_after
    facts = run.config["fine_tune"]
    assert facts["parent"] == "shipped" and facts["accuracy_before"] == result.accuracy_before
    assert (facts["accuracy_after"], facts["checked_on"], facts["drawings"]) == (result.accuracy_after, 300, 8)
    assert run.train_config.model == load_model().model_config  # the settings of the model it started from
    kept = store.load(run_id)
    x = np.concatenate([normalize(d, kept.mean, kept.std).numpy() for d in drawings])
    np.testing.assert_allclose(probabilities(kept, torch.from_numpy(x)), result.after, atol=1e-5)


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def test_the_kept_run_is_offered_for_drawing_and_listed_among_the_runs(tmp_path, monkeypatch, tuned, mnist5k):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(mnist5k))
    run_id = keep_as_run(RunStore(tmp_path / "runs"), tuned[0], parent="shipped", name=NAME, owner="b" * 24)
    draw = page("pages/draw.py")  # another visitor's session, the next day
    choice = draw.selectbox(key="draw_model")
    acc = f"{tuned[0].accuracy_after:.2%}"
    assert choice.format_func(f"run:{run_id}") == text("draw.model.run", id=run_id, name=NAME, acc=acc)
    choice.set_value(f"run:{run_id}").run()
    assert not draw.exception and text("draw.card.fine_tuned_on") in " ".join(m.value for m in draw.markdown)
    (runs,) = [d.value for d in page("pages/train.py").dataframe if "Started from" in d.value.columns]
    (row,) = runs.to_dict("records")
    assert row["Run"] == NAME and row["Started from"] == text("runs.sources.finetune")
    assert row["Test accuracy"] == pytest.approx(tuned[0].accuracy_after)
