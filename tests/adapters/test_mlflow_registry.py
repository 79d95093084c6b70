import socket
from types import SimpleNamespace

import pytest

from devops_mlops.adapters import mlflow_registry
from devops_mlops.adapters.mlflow_errors import translate
from devops_mlops.adapters.mlflow_registry import MlflowRegistry, is_uc_name, uris_for
from devops_mlops.config import ModelCfg, PromotionCfg, Target
from devops_mlops.errors import ServiceError


def _ctx(tmp_path, name="toll", **target):
    config = SimpleNamespace(model=ModelCfg(name=name), promotion=PromotionCfg(scheme="stages"))
    t = Target(**target)
    t.name = "t"
    return SimpleNamespace(target=t, config=config, state_dir=tmp_path / ".mlops")


def test_local_store_under_state_dir(tmp_path):
    tracking, registry, artifacts = uris_for(_ctx(tmp_path))
    assert tracking == registry == f"sqlite:///{tmp_path}/.mlops/mlflow.db"
    assert artifacts == (tmp_path / ".mlops" / "mlartifacts").as_uri()
    reg = mlflow_registry.from_context(_ctx(tmp_path))
    assert reg.scheme == "stages" and reg.aliases == {"staging": "challenger", "production": "champion"}


def test_target_uris_override(tmp_path):
    ctx = _ctx(tmp_path, tracking_uri="http://127.0.0.1:5000", registry_uri="http://127.0.0.1:5001")
    assert uris_for(ctx) == ("http://127.0.0.1:5000", "http://127.0.0.1:5001", None)


def test_databricks_registries(tmp_path):
    db = {"backend": "databricks", "workspace_dir": "/Shared/x"}
    assert uris_for(_ctx(tmp_path, **db))[:2] == ("databricks", "databricks")
    assert uris_for(_ctx(tmp_path, profile="dev", **db))[:2] == ("databricks://dev", "databricks://dev")
    assert uris_for(_ctx(tmp_path, "main.ml.toll", **db))[:2] == ("databricks", "databricks-uc")
    assert uris_for(_ctx(tmp_path, "main.ml.toll", profile="dev", **db))[:2] == (
        "databricks://dev",
        "databricks-uc://dev",
    )


def test_unity_catalog_names_always_use_aliases():
    reg = MlflowRegistry("databricks", "databricks", scheme="stages")
    assert is_uc_name("main.ml.toll") and not is_uc_name("toll")
    assert reg.scheme_for("main.ml.toll") == "aliases" and reg.scheme_for("toll") == "stages"
    assert MlflowRegistry("databricks", "databricks-uc", scheme="stages").scheme_for("toll") == "aliases"


def test_unreachable_registry_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there
    reg = MlflowRegistry(f"http://127.0.0.1:{port}")
    with pytest.raises(ServiceError) as err:
        reg.get_model("toll")
    assert f"cannot reach the registry at http://127.0.0.1:{port}" in err.value.message
    assert "reachable" in err.value.hint and "\n" not in err.value.one_line()


def test_translate_permission_and_not_found():
    from mlflow.exceptions import RestException

    with (
        pytest.raises(ServiceError, match="model x: PERMISSION_DENIED: User lacks permission$") as err,
        translate("model x", "databricks"),
    ):
        raise RestException({"error_code": "PERMISSION_DENIED", "message": "User lacks permission\nmore"})
    assert "permission" in err.value.hint
    with pytest.raises(ServiceError) as err, translate("model x", "databricks"):
        raise RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "nope"})
    assert err.value.exit_code == 2 and "mlops model status" in err.value.hint
    with pytest.raises(KeyError), translate("model x", "databricks"):  # our bugs are not service errors
        raise KeyError("bug")


def test_a_version_knows_the_commit_its_run_was_trained_from(tmp_path):
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    reg = mlflow_registry.from_context(_ctx(tmp_path))
    X = pd.DataFrame({"a": np.arange(10.0)})
    model = LinearRegression().fit(X, 2 * X["a"])
    mv = reg.log_sklearn_model(model, "toll", X=X, tags={"mlops.git_commit": "abc123def456"})
    version = reg.get_version("toll", mv.version)
    assert "abc123def456" in version.tags.values()


def test_a_version_is_loaded_once_per_process_and_each_registry_serves_its_own(tmp_path):
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": np.arange(10.0)})
    reg = mlflow_registry.from_context(_ctx(tmp_path / "one"))
    reg.log_sklearn_model(LinearRegression().fit(X, 2 * X["a"]), "toll", X=X)
    first = reg.load_model("toll", 1)
    assert reg.load_model("toll", 1) is first
    assert float(first.predict(X.head(2))[1]) == pytest.approx(2.0)
    other = mlflow_registry.from_context(_ctx(tmp_path / "two"))  # version 1 again, another model
    other.log_sklearn_model(LinearRegression().fit(X, 3 * X["a"]), "toll", X=X)
    again = other.load_model("toll", 1)
    assert again is not first and float(again.predict(X.head(2))[1]) == pytest.approx(3.0)


def test_a_training_run_logs_a_skops_model_with_pinned_requirements_in_its_experiment(tmp_path):
    import mlflow.models
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    reg = mlflow_registry.from_context(_ctx(tmp_path))
    X = pd.DataFrame({"a": np.arange(10.0), "b": np.ones(10)})
    logged = reg.log_training_run(LinearRegression().fit(X, 2 * X["a"]), sample=X, experiment="proj",
                                  run_name="train", params={"rows": 10}, metrics={"rmse": 0.1},
                                  tags={"mlops.stage": "train"})
    run = reg.client.get_run(logged.run_id)
    assert run.info.experiment_id == reg.ensure_experiment("proj") and run.info.run_name == "train"
    assert run.data.params == {"rows": "10"} and run.data.metrics == {"rmse": 0.1}
    assert reg.run_tags(logged.run_id)["mlops.stage"] == "train"
    info = mlflow.models.get_model_info(logged.model_uri)
    assert info.flavors["sklearn"]["serialization_format"] == "skops"
    assert info.signature.outputs.to_dict()[0]["tensor-spec"]["dtype"] == "float64"
    requirements = mlflow.pyfunc.get_model_dependencies(logged.model_uri)
    assert any(line.startswith("scikit-learn==") for line in open(requirements).read().splitlines())
    version = reg.register(logged.model_uri, "toll", {"mlops.eval_batch": "3"})
    assert reg.get_version("toll", version).tags["mlops.eval_batch"] == "3"
    assert np.allclose(reg.load_model(logged.model_uri).predict(X), 2 * X["a"])
