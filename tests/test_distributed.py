"""``torchrun --nproc_per_node=2 -m cnnkit train``: two CPU processes with gloo learn what one process learns."""

import json
import subprocess
import sys

import pytest
import torch

from cnnkit.data.datasets import Split
from cnnkit.data.tensors import part_of
from cnnkit.errors import CnnkitError
from cnnkit.train.distributed import World, world_from_env
from tests.support import ROOT, cli

ARGS = ["--dataset", "mnist", "--subset", "1024", "--epochs", "2", "--batch-size", "64", "--device", "cpu", "--json"]


def test_the_environment_says_where_a_process_stands():
    assert world_from_env({}) is None and world_from_env({"WORLD_SIZE": "1"}) is None
    assert world_from_env({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"}) == World(2, 4, 0)
    with pytest.raises(CnnkitError, match="torchrun"):
        world_from_env({"WORLD_SIZE": "2"})


def test_shards_are_equal_disjoint_and_cover_the_set():
    split = Split(torch.arange(101).view(101, 1, 1).to(torch.uint8), torch.arange(101))
    parts = [part_of(split, r, 3, seed=5) for r in range(3)]
    labels = [set(p.labels.tolist()) for p in parts]
    assert [len(p) for p in parts] == [33, 33, 33]
    assert not (labels[0] & labels[1] or labels[1] & labels[2] or labels[0] & labels[2])
    assert len(set().union(*labels)) == 99


@pytest.mark.slow
def test_two_gloo_processes_match_one(digits, tmp_path):
    out = tmp_path / "ddp.pt"
    ddp = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "cnnkit",
            "train",
            "--data-dir",
            digits,
            *ARGS,
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    lines = [line for line in ddp.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, ddp.stdout  # only rank 0 reports
    together = json.loads(lines[0])
    assert "× 2 processes" in ddp.stderr and out.is_file()

    alone = cli("train", "--data-dir", digits, *ARGS)
    assert alone.returncode == 0, alone.stderr
    single = json.loads(alone.stdout.strip().splitlines()[-1])
    assert len(together["epochs"]) == len(single["epochs"]) == 2
    assert together["test_accuracy"] > 0.6  # drawn digits: far above the 10% of chance
    assert abs(together["test_accuracy"] - single["test_accuracy"]) < 0.03


def _pid_of_rank(mark: str, rank: int) -> int | None:
    """The process that torchrun started as ``rank`` of the run whose environment holds ``mark``."""
    import os

    for entry in os.listdir("/proc"):
        try:
            env = open(f"/proc/{entry}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if f"CNNKIT_TEST_MARK={mark}".encode() in env and f"RANK={rank}".encode() in env:
            return int(entry)
    return None


@pytest.mark.slow
def test_a_killed_rank_gives_one_line_naming_the_rank_and_the_reason(tiny_idx, tmp_path):
    import os
    import signal

    mark = tmp_path.name
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "cnnkit",
            "train",
            "--data-dir",
            tiny_idx,
            "--epochs",
            "100000",
            "--batch-size",
            "20",
            "--device",
            "cpu",
        ],
        cwd=ROOT,
        env=dict(os.environ, CNNKIT_TEST_MARK=mark),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stderr:  # rank 0 has finished an epoch: both are training
            if line.rstrip().endswith(" s") and "test loss" in line:
                break
        pid = _pid_of_rank(mark, 1)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        rest = proc.stderr.read()
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    ours = [part for part in rest.replace("\r", "\n").splitlines() if "training process rank 0 of 2" in part]
    assert len(ours) == 1 and rest.count("Traceback (most recent call last)") == 1  # torchrun's own only
    assert ours[0].split("error: ", 1)[1] in (
        "training process rank 0 of 2 lost its connection to the other processes (Connection reset by peer): "
        "one of them stopped; torchrun's report names it and why.",
        "training process rank 0 of 2 lost its connection to the other processes (Connection closed by peer): "
        "one of them stopped; torchrun's report names it and why.",
        "training process rank 0 of 2 was ended by torchrun (SIGTERM) because another process failed; torchrun's "
        "report names that process and why (an exit code, a signal such as SIGKILL when the system ran out of "
        "memory).",
    )
    assert "exitcode  : -9" in rest and "rank      : 1" in rest  # torchrun's own report names the killed rank
