"""Paths typed on the pages: only under the allowed roots, resolved, one message for absent and refused."""

import tomllib

import pytest

from cnnkit.errors import CnnkitError
from cnnkit.infer.uploads import IMAGENET_WEIGHTS_MB, UPLOAD_MB, SessionCache
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.checkpoints import Checkpoint, to_bytes
from cnnkit.paths import allowed_path, allowed_roots
from tests.support import ROOT


@pytest.fixture
def roots(tmp_path, monkeypatch):
    data, runs = tmp_path / "data", tmp_path / "runs"
    data.mkdir(), runs.mkdir()
    (data / "weights.pth").write_bytes(b"w")
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(data))
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(runs))
    monkeypatch.delenv("CNNKIT_DATA_ROOTS", raising=False)
    return data, runs


def refused(typed: str, kind: str = "file") -> str:
    with pytest.raises(CnnkitError) as err:
        allowed_path(typed, kind)
    return str(err.value)


def test_default_roots_are_the_data_and_runs_directories(roots):
    assert allowed_roots() == [r.resolve() for r in roots]
    assert allowed_path(str(roots[0] / "weights.pth")) == (roots[0] / "weights.pth").resolve()
    assert allowed_path(str(roots[1]), "folder") == roots[1].resolve()


def test_outside_absent_and_home_paths_get_one_message(roots, tmp_path):
    data, runs = roots
    expected = (
        "No file “{}” can be opened here: give a file inside the data folders this server shares "
        "(the person who runs it knows which)."
    )
    for typed in (
        "/etc/shadow",
        "/etc/passwd",
        str(data / "absent.pth"),
        "~root/.bashrc",
        "~/.bashrc",
        str(data / ".." / ".." / "etc" / "passwd"),
        "",
        "a\0b",
        "x" * 5000,
    ):
        assert refused(typed) == expected.format(typed[:100])
    assert refused("/etc", "folder").startswith("No folder “/etc” can be opened here")


def test_a_symlink_out_of_a_root_is_refused(roots, tmp_path):
    data, _ = roots
    (data / "escape").symlink_to("/etc")
    (data / "passwd").symlink_to("/etc/passwd")
    assert refused(str(data / "escape"), "folder").startswith("No folder")
    assert refused(str(data / "passwd")).startswith("No file")


def test_configured_roots_replace_the_defaults(roots, tmp_path, monkeypatch):
    other = tmp_path / "class"
    other.mkdir()
    monkeypatch.setenv("CNNKIT_DATA_ROOTS", str(other))
    assert allowed_roots() == [other.resolve()]
    assert refused(str(roots[0] / "weights.pth")).startswith("No file")
    assert str(other) not in refused(str(roots[0] / "weights.pth"))


def test_upload_limits_fit_the_largest_files_accepted():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == UPLOAD_MB
    model = ModelConfig(pooling=False)  # the largest network cnnkit trains
    ckpt = Checkpoint(build_model(model), model, "mnist", list("0123456789"), 0.1307, 0.3081)
    assert len(to_bytes(ckpt)) / 2**20 < UPLOAD_MB
    from cnnkit.infer.imagenet import MODELS, weights_for

    assert max(weights_for(m).size_mb for m in MODELS) < IMAGENET_WEIGHTS_MB


def test_server_config_hides_error_details_and_protects_against_xsrf():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"  # `false` means "stacktrace" in Streamlit 1.67
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["address"] == "127.0.0.1"


def test_session_cache_keeps_only_the_last_uploads():
    cache, calls = SessionCache(2), []
    compute = lambda data, name: calls.append(name) or len(data)  # noqa: E731
    for data in (b"a", b"bb", b"a", b"ccc", b"bb"):
        cache.get(data, "f", compute)
    assert len(cache) == 2 and calls == ["f"] * 4  # b"a" again came from the cache, b"bb" was evicted


def test_imagenet_weights_path_gets_no_home_expansion(tmp_path, monkeypatch):
    from cnnkit.infer.imagenet import load_classifier

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "w.pth").write_bytes(b"")
    with pytest.raises(CnnkitError, match="is not a file"):
        load_classifier("resnet18", "~/w.pth")


@pytest.mark.parametrize("typed", ["~nosuchuser/x", "a\0b", "/etc", "../../.."])
def test_the_images_folder_field_refuses_what_it_cannot_open_with_one_message(
    typed, roots, page_digits, monkeypatch, tmp_path
):
    from tests.support.pages import open_page

    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "page-runs"))
    at = open_page("pages/train.py", "ru")
    at.selectbox(key="train_dataset").set_value("folder").run()
    at.text_input(key="train_images_path").set_value(typed).run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("Папку «") and "Traceback" not in error
