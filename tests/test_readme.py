"""The README's two commands are the ones CI and a new user run."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    command = ci_lines[ci_lines.index(next(ln for ln in ci_lines if "verbatim" in ln)) + 1]
    assert command == "bash scripts/test.sh"
    assert command in (ROOT / "README.md").read_text()
    assert "python -m pytest" in (ROOT / "scripts" / "test.sh").read_text()


def test_readme_run_command_starts_the_app_file():
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/app.sh" in readme
    assert "streamlit run streamlit_app.py" in (ROOT / "scripts" / "app.sh").read_text()
    assert (ROOT / "streamlit_app.py").exists()
