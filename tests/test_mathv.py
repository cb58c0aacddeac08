"""MATH-V converter: a tiny fabricated folder for the rules, the real ../shared copy for the real thing."""

import json

import numpy as np
import pytest

from mmr_utils.data.mathv import PRICE_PER_MILLION, convert_mathv, count_output_tokens
from mmr_utils.data.official import TableFormatError, load_table
from mmr_utils.paths import SHARED_MATHV


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def tiny_mathv(tmp_path):
    src = tmp_path / "math-v"
    items = [{"id": str(i), "question": f"q{i} <image1>", "answer": "A", "subject": "logic", "level": 1,
              "image": f"images/{i}.jpg"} for i in range(1, 4)]
    write_jsonl(src / "data" / "test.jsonl", items)
    (src / "images").mkdir()
    for i in (1, 2):
        (src / "images" / f"{i}.jpg").write_bytes(b"jpg")
    write_jsonl(src / "outputs" / "a" / "Gemini-Pro.jsonl",
                [{"id": str(i), "response": "The answer is A" * i, "model_answer": "a", "correct": i != 2} for i in range(1, 4)])
    write_jsonl(src / "outputs" / "b" / "SPHINX-v2.jsonl",
                [{"id": str(i), "response": "B", "model_answer": "b", "correct": False} for i in range(1, 3)])
    write_jsonl(src / "outputs" / "Random-Chance.jsonl",
                [{"id": str(i), "response": "C", "model_answer": "c", "correct": True} for i in range(1, 4)])
    return src


def test_tiny_conversion(tiny_mathv, tmp_path):
    out = convert_mathv(tiny_mathv, tmp_path / "out", tokenizer="chars4")
    table = load_table(out)
    assert table.models == ("Gemini-Pro",)
    assert table.instances["dataset_idx"].tolist() == ["MathVision_1", "MathVision_2", "MathVision_3"]
    np.testing.assert_array_equal(table.correct[:, 0], [1, 0, 1])
    tokens = np.ceil(np.array([15, 30, 45]) / 4)
    np.testing.assert_allclose(table.cost[:, 0], tokens * PRICE_PER_MILLION["Gemini-Pro"][0] / 1e6)
    assert table.instances["image_path"].notna().tolist() == [True, True, False]
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["skipped_models"]["SPHINX-v2"] == "judged 2 of 3 items"
    assert "Random-Chance" in provenance["skipped_models"]
    assert provenance["cost_model"]["prices"]["Gemini-Pro"]["source"]
    assert table.source["simulated"] is False


def test_bad_json_is_named(tiny_mathv, tmp_path):
    (tiny_mathv / "outputs" / "a" / "Gemini-Pro.jsonl").write_text('{"id": "1", "correct": true}\n{oops\n')
    with pytest.raises(TableFormatError, match=r"Gemini-Pro.jsonl, line 2: not valid JSON"):
        convert_mathv(tiny_mathv, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_not_a_mathv_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="is .* a MATH-V folder"):
        convert_mathv(tmp_path, tmp_path / "out")


def test_minilm_token_counts_are_real_subwords():
    counts = count_output_tokens(["A", "The perimeter is 12 cm because each side measures 3 cm."], "minilm")
    assert counts[0] == 1 and 10 <= counts[1] <= 20


@pytest.mark.skipif(not SHARED_MATHV.is_dir(), reason=f"MATH-V not found at {SHARED_MATHV}")
def test_real_mathv(tmp_path):
    out = convert_mathv(SHARED_MATHV, tmp_path / "mathv")
    table = load_table(out)
    assert table.n == 3040 and len(table.models) == 15
    assert table.has_images.all()
    summary = table.model_summary().set_index(["dataset", "model"])
    # MATH-V's published test accuracies (percent): Gemini-Pro 17.66, GPT4-CoT text-only 8.16.
    assert summary.loc[("All", "Gemini-Pro"), "accuracy"] == pytest.approx(0.1766, abs=0.0005)
    assert summary.loc[("All", "GPT4-CoT (Text Only)"), "accuracy"] == pytest.approx(0.0816, abs=0.0005)
    assert (table.cost > 0).all()
