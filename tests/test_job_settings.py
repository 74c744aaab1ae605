"""genxd.checkpoints.job_settings_restored: a job's pipeline settings do not outlive the job."""

from __future__ import annotations

from types import SimpleNamespace

from genxd.checkpoints import job_settings_restored


def test_a_setting_the_job_made_is_removed_and_one_it_changed_put_back():
    """diffusers makes ``_progress_bar_config`` only on the first ``set_progress_bar_config`` call: on a freshly
    loaded pipeline the job's ``{'disable': True}`` stayed after ``genxd.generate(..., loaded=lm, progress=False)``
    (found by the review), as the block restored only settings the pipeline had before."""
    pipe = SimpleNamespace(scheduler="caller's sampler", decode_chunk_size=4)
    with job_settings_restored(pipe):
        pipe.scheduler, pipe.decode_chunk_size = "job's sampler", 8
        pipe._progress_bar_config = {"disable": True}
    assert pipe.scheduler == "caller's sampler" and pipe.decode_chunk_size == 4
    assert not hasattr(pipe, "_progress_bar_config")
