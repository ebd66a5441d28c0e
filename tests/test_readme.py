"""The README's quickstart and demo stay true."""

import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_commands_match_ci():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    demo, tests = commands[0], commands[1]
    assert "pip install torch==2.13.0" in demo and "examples/quickstart.py" in demo
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = tests.split("&&")[-1].strip()
    assert test_command in [line.strip() for line in ci.splitlines()]


def test_readme_quickstart_is_the_demo_script():
    readme = (ROOT / "README.md").read_text()
    snippet = re.findall(r"```python\n(.*?)\n```", readme, flags=re.S)[0]
    script = (ROOT / "examples" / "quickstart.py").read_text()
    assert snippet.strip() == script.strip()


def test_demo_script_runs(capsys):
    runpy.run_path(str(ROOT / "examples" / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    for name in (
        "BayesianRegressor",
        "FlowDensity",
        "NeuralImportanceIntegrator",
        "ALICERatioEstimator",
        "ActiveScanner",
    ):
        assert name in out
    assert "±" in out
