"""The drawing page writes its percentages as the page's language does (``76,6 %`` in Russian): the stored
runs offered as models, the fine-tuning's check before and after, its warning and the overview's outputs."""

import re

import numpy as np
import pytest
import streamlit as st

from cnnkit.errors import CnnkitError
from cnnkit.i18n import text
from cnnkit.infer import charts, overview
from cnnkit.infer.finetune import FinetuneResult, kept_checkpoint
from tests.support.built_nets import SPECS, built_checkpoint, stored
from tests.support.drawing import SEVEN
from tests.support.pages import draw_page, upload

RU_PERCENT = re.compile(r"\d+,\d\u00a0%")


@pytest.mark.parametrize("lang, shown", [("en", "76.64%"), ("ru", "76,64\u00a0%")])
def test_a_stored_run_is_offered_with_its_accuracy_written_as_the_language_does(lang, shown, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path))
    run_id = stored(tmp_path, built_checkpoint(SPECS["stride2"]), "strided", 0.7664)
    choice = draw_page(lang).selectbox(key="draw_model")
    assert choice.format_func(f"run:{run_id}") == text("draw.model.run", lang, id=run_id, name="strided", acc=shown)


def test_the_fine_tuning_check_is_written_as_russian_does(tmp_path, monkeypatch, mnist5k):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(mnist5k))
    run_id = stored(tmp_path, built_checkpoint(SPECS["avgpool+bn+gelu+dropout"]), "built")
    st.cache_resource.clear()  # the teaching data, which an earlier test may have found absent
    at = draw_page("ru")
    at.selectbox(key="draw_model").set_value(f"run:{run_id}").run()
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    at.button(key="draw_add").click().run()
    at.slider(key="draw_tune_steps").set_value(10).run()
    at.button(key="draw_tune").click().run()
    assert not at.exception
    (checked,) = [m.value for m in at.markdown if "→" in m.value]
    before, after = checked.rpartition(":")[2].split("→")
    assert RU_PERCENT.fullmatch(before.strip()) and RU_PERCENT.fullmatch(after.strip(" ."))


def test_the_refusal_to_keep_a_forgetful_model_says_the_drop_as_russian_does():
    result = FinetuneResult(
        checkpoint=built_checkpoint(SPECS["no_conv"]),
        before=np.zeros((1, 10)),
        after=np.zeros((1, 10)),
        losses=[],
        trainable=0,
        frozen=0,
        accuracy_before=0.9,
        accuracy_after=0.875,
        checked_on=1000,
    )
    with pytest.raises(CnnkitError) as refused:
        kept_checkpoint(result)
    assert "на 2,5\u00a0% меньше" in refused.value.message("ru", "page")
    assert "reads 2.5% fewer" in refused.value.message("en", "page")


def test_the_overview_writes_the_outputs_probabilities_as_russian_does():
    ckpt = built_checkpoint(SPECS["stride2"])
    view = overview.overview(ckpt, np.eye(28, dtype=np.float32))
    figure = charts.overview_figure(
        view, overview.columns(view), overview.tiles(view), view.path(), ckpt.classes, {}, lang="ru"
    )
    (outputs,) = [trace.text for trace in figure.data if trace.text and trace.text[0].startswith("0 · ")]
    assert all(re.fullmatch(r"\d · \d+\u00a0%", label) for label in outputs)
