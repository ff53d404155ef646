"""Production settings, migrations and the API schema, checked as the deployment would."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.deploy import manage, production_env


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    # The settings alone, on SQLite: the role the database is reached as is the deployment's
    # (a developer's superuser rightly gets caltrace.W001); test_append_only.py checks both.
    env = production_env(tmp_path)
    for name in ("DATABASE_URL", "DATABASE_OWNER_URL"):
        env.pop(name, None)
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_the_anchors_live_with_the_data(tmp_path: Path) -> None:
    # The default, var/anchors, is beside the database file, the media and their backups.
    env = production_env(tmp_path)
    for name in ("DATABASE_URL", "DATABASE_OWNER_URL", "CALTRACE_ANCHOR_DIR"):
        env.pop(name, None)
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "caltrace.W002" in result.stderr + result.stdout
    assert "CALTRACE_VAR_DIR" in result.stderr + result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    env = {**production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "labserver.settings.test"}
    result = manage("makemigrations", "--check", "--dry-run", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_the_openapi_schema_is_valid_and_documents_the_run_contract() -> None:
    from rest_framework.test import APIClient

    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    run_in = schema["components"]["schemas"]["RunInRequest"]
    assert {"run_id", "job", "procedure", "points", "standards"} <= set(run_in["required"])
    post = schema["paths"]["/api/v1/runs/"]["post"]
    assert any(p["name"] == "X-Caltrace-Signature" for p in post["parameters"])
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
