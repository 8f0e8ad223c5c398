"""The training page's batch control follows the data chosen: a teacher who opens the page on MNIST (a batch of
64) and then collects a few pictures per class can train at once, without a refused batch; a batch the user
gave stays theirs."""

from tests.test_collect_page import add_class, collecting, picture, uploader


def collect_small_set(at):
    for kind in ("circle", "square"):
        add_class(at, kind)
        uploader(at).set_value([(f"{i}.png", picture(kind, i), "image/png") for i in range(3)]).run()
    assert not at.exception, at.exception
    return at


def test_the_batch_follows_a_small_collection_chosen_after_mnist(page_digits, runs_dir, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))  # 400 training images: the page starts at 64
    at = collect_small_set(collecting())
    assert at.number_input(key="train_batch_size").value <= 6  # at most the six pictures
    assert not [e.value for e in at.error if "Batch size" in e.value]
    assert not at.button(key="train_start").disabled


def test_a_batch_of_the_users_own_is_kept_when_the_data_changes(page_digits, runs_dir, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    at = collecting()
    at.selectbox(key="train_dataset").set_value("mnist").run()
    at.number_input(key="train_batch_size").set_value(100).run()
    at.selectbox(key="train_dataset").set_value("folder").run()
    at.selectbox(key="train_dataset").set_value("mnist").run()
    assert at.number_input(key="train_batch_size").value == 100
