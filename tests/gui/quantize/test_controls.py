from foldwise.core.quantize.export import check_verdict
from foldwise.gui.quantize.controls import qonnx_text

EXACT = {"bit_exact": True, "faithful": True, "images": 64, "mismatched_images": 0, "rounding_ties": 0,
         "max_abs_diff": 0.0, "first_mismatch": None}
TIES = {"bit_exact": False, "faithful": True, "images": 64, "mismatched_images": 1, "rounding_ties": 1,
        "max_abs_diff": 0.07, "first_mismatch": {"node": None, "layer": "features.relu1", "note": "rounding ties: ..."}}
WRONG = {"bit_exact": False, "faithful": False, "images": 8, "mismatched_images": 8, "rounding_ties": 0,
         "max_abs_diff": 1.5, "first_mismatch": {"node": "Quant_1", "op": "Quant", "layer": "features.conv2"}}


def test_each_verdict_reads_differently() -> None:
    assert qonnx_text(None) == ("", "–")
    assert qonnx_text(EXACT)[1] == "✓ bit-exact" and "64 test images" in qonnx_text(EXACT)[0]
    text, value = qonnx_text(TIES)
    assert value == "✓ faithful (1 tie)" and "63/64" in text and "features.relu1" in text
    text, value = qonnx_text(WRONG)
    assert value == "✗ mismatch" and "features.conv2" in text and "Quant_1" in text
    why = {**WRONG, "first_mismatch": {**WRONG["first_mismatch"], "note": "3 value(s) 2 step(s) apart"}}
    assert "features.conv2</b> (node Quant_1, Quant): 3 value(s) 2 step(s) apart;" in qonnx_text(why)[0]


def test_cli_verdicts() -> None:
    assert check_verdict(EXACT) == "bit-exact on 64 images (measured)"
    assert check_verdict(TIES).startswith("faithful on 64 images (measured): bit-exact on all but 1")
    assert check_verdict(WRONG).startswith("MISMATCH on 8/8 images") and "layer features.conv2" in check_verdict(WRONG)
