"""The layer rule (.importlinter, docs/architecture.md): `lint-imports` keeps every contract on the
real code, and breaks them when a lower layer imports a higher one (checked on a copy of the code)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PACKAGES = ["config", "core", "eshop", "support", "llm", "evaluation"]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT_IMPORTS, "--no-cache", "--no-logo", "--config", str(cwd / ".importlinter")],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def code_copy(tmp_path) -> Path:
    """The project's Python packages and contract file, copied (data files and templates left out)."""
    def not_python(folder, names):
        return [n for n in names if not (Path(folder, n).is_dir() or n.endswith(".py")) or n == "__pycache__"]

    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=not_python)
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def _add_import(module: Path, line: str) -> None:
    # Inside a function, the way a cycle is usually dodged: it still counts.
    module.write_text(module.read_text() + f"\n\ndef _offending():\n    {line}  # noqa\n")


def test_every_layer_contract_holds():
    result = _lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_the_copy_of_the_code_holds_them_too(code_copy):
    assert _lint_imports(code_copy).returncode == 0  # so the breaks below come from the added import alone


def test_llm_importing_a_domain_app_breaks_the_contracts_even_inside_a_function(code_copy):
    _add_import(code_copy / "llm" / "services" / "heads.py", "from support.selectors import ticket_training_examples")

    result = _lint_imports(code_copy)

    assert result.returncode == 1
    assert "llm is a leaf: it imports no other app of the project BROKEN" in result.stdout
    assert "Layers: an app imports only the layers below it BROKEN" in result.stdout
    assert "llm.services.heads -> support.selectors" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("eshop/admin.py", "from support.models import Ticket", "The shop knows nothing of the support desk BROKEN"),
    ("core/ratelimit.py", "from eshop.models import Product", "Layers: an app imports only the layers below it BROKEN"),
    ("support/views.py", "from evaluation import runner", "Layers: an app imports only the layers below it BROKEN"),
])
def test_an_upward_import_breaks_its_contract(code_copy, module, line, contract):
    _add_import(code_copy / module, line)

    result = _lint_imports(code_copy)

    assert result.returncode == 1 and contract in result.stdout
