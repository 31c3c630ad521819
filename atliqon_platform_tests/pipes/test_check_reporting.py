"""Check results cross Pipes as they are recorded in process: status, severity and metadata,
through the same multi-asset (``remote_assets``) and reporting (``report_results``) the platform uses."""

from dagster import Definitions, instance_for_test

from atliqon_platform.pipes import launchers
from atliqon_platform.pipes.launchers import SubprocessLauncher
from atliqon_platform.pipes.remote_assets import remote_assets
from atliqon_platform_tests.pipes import checked_asset_child, interrupted_child
from atliqon_platform_tests.pipes.launching import launched_through, terminated_when
from atliqon_platform_tests.remote_runs import recorded_results


def test_check_results_and_metadata_cross_pipes_unchanged(tmp_path):
    with instance_for_test() as instance:
        child = checked_asset_child
        Definitions(
            assets=[child.example], asset_checks=[child.example_has_enough_rows], jobs=[child.example_job]
        ).resolve_job_def("example_job").execute_in_process(instance=instance)
        in_process = recorded_results(instance, tmp_path)
    with instance_for_test() as instance:
        definitions = Definitions(
            assets=remote_assets(child.GRAPH, [child.example_job]),
            jobs=[child.example_job],
            resources={"pipes_launcher": SubprocessLauncher(module=child.__name__)},
        )
        assert definitions.resolve_job_def("example_job").execute_in_process(instance=instance).success
        through_pipes = recorded_results(instance, tmp_path)
    expected = (False, "WARN", {"rows": 3, "minimum": 5, "why": "too few"})
    assert in_process["checks"] == {("gold/example", "example_has_enough_rows"): expected}
    assert through_pipes["checks"] == in_process["checks"]
    (metadata,) = in_process["materialisations"].values()
    reported = through_pipes["materialisations"][("gold/example", None)]
    assert {name: reported[name] for name in metadata} == metadata


def test_a_terminated_run_interrupts_its_pipes_child(tmp_path):
    """Terminating a run (the UI's Terminate sends SIGINT) interrupts the child its step
    launched: the step's thread is never interrupted, so Pipes' client would else wait for the
    child, which would go on writing tables after its run ended."""
    launcher = SubprocessLauncher(
        module=interrupted_child.__name__, environment={"INTERRUPTED_CHILD_SAYS": str(tmp_path)}
    )
    with terminated_when((tmp_path / "started").exists), instance_for_test() as instance:
        assert not launched_through(launcher, "waiting_job", instance)
    assert (tmp_path / "interrupted").exists()


def test_a_terminated_runs_pipes_child_that_goes_on_is_killed_after_its_grace(tmp_path, monkeypatch):
    """A child that outlives its SIGINT (stuck in a call that does not return, say) is killed
    once its grace is over, as Pipes' own client does: the terminated run would else wait for it
    to finish its work, and it would write on after its run ended."""
    monkeypatch.setattr(launchers, "TERMINATION_GRACE_SECONDS", 1.0)
    launcher = SubprocessLauncher(
        module=interrupted_child.__name__,
        environment={"INTERRUPTED_CHILD_SAYS": str(tmp_path), "INTERRUPTED_CHILD_IGNORES": "1"},
    )
    with terminated_when((tmp_path / "started").exists), instance_for_test() as instance:
        assert not launched_through(launcher, "waiting_job", instance)
    assert (tmp_path / "interrupted").exists()
    assert not (tmp_path / "finished").exists()
