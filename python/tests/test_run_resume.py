"""Run.resume: a job that restarts a run from a checkpoint appends a segment, and the earlier job's points past the
checkpoint step are hidden from reads."""

from __future__ import annotations

from simscope import Run
from _readback import get, series
from conftest import TOKEN, ServerProcess


def test_resume_from_a_checkpoint_supersedes_the_later_points(server: ServerProcess) -> None:
    first = Run()
    first.config(suppress_errors=False, url=server.url, token=TOKEN)
    assert first.init(name="py-restart")
    for step in range(0, 801):
        first.log_metrics({"residual": 1.0 if step <= 500 else 1000.0}, step=step)
    first.close(status="terminated")

    second = Run()
    second.config(suppress_errors=False, url=server.url, token=TOKEN)
    assert first.id is not None
    assert second.resume(first.id, rewind_to=500, job_id="981")
    for step in range(501, 601):
        second.log_metrics({"residual": 2.0}, step=step)
    second.close()

    visible = series(server.url, first.id, "residual")
    assert visible["steps"] == list(range(0, 601))
    assert visible["values"] == [1.0] * 501 + [2.0] * 100
    everything = get(server.url, f"/runs/{first.id}/metrics/series", name="residual", includeSuperseded="true")
    assert len(everything["steps"]) == 801 + 100
    segments = get(server.url, f"/runs/{first.id}/segments")["segments"]
    assert [(s["number"], s["jobId"], s["rewindTo"], s["status"]) for s in segments] == [
        (1, None, None, "terminated"),
        (2, "981", 500, "completed"),
    ]


def test_resume_refuses_a_rewind_step_that_is_not_a_number(server: ServerProcess) -> None:
    run = Run()
    run.config(suppress_errors=False, url=server.url, token=TOKEN)
    try:
        run.resume("anything", rewind_to="x")  # type: ignore[arg-type]
    except Exception as error:
        assert str(error).endswith("resume.rewind_to: expected a step number, got 'x'")
    else:
        raise AssertionError("resume accepted a rewind step that is not a number")
