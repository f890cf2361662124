"""Memory: a factor capture at T = 4096 never holds a [L, H, T, T] array (nor one layer's).

Runs in a fresh interpreter so that the peak resident set (``ru_maxrss``) belongs to this
capture alone: first a plain forward of the same model and input (its own peak is the
baseline), then the capture; the capture may add what its factors and one block of rows
need, far below the maps it no longer keeps.
"""

import json
import subprocess
import sys

SCRIPT = r"""
import json, resource, torch, warnings
warnings.filterwarnings("ignore")
from transformers import LlamaConfig, LlamaForCausalLM
from bos_widget import capture
from tests.unit import tiny

T, L, H = 4096, 8, 4
cfg = LlamaConfig(vocab_size=tiny.V, hidden_size=32, intermediate_size=64, num_hidden_layers=L,
                  num_attention_heads=H, num_key_value_heads=2, head_dim=8,
                  max_position_embeddings=T)
torch.manual_seed(0)
model = LlamaForCausalLM(cfg).eval()
tok = tiny.tokenizer(add_bos=True)
text = " ".join((tiny.WORDS * (T // len(tiny.WORDS) + 1))[: T - 1])
ids = tok(text, return_tensors="pt")["input_ids"]
with torch.inference_mode():
    model(ids, logits_to_keep=1, use_cache=False)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
run = capture(model, tok, text, progress=False)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"T": run.T, "path": run.meta.path, "maps": run.attention is not None,
                  "extra": after - before, "factors": run.factors.nbytes,
                  "all_maps_f16": 2 * L * H * run.T ** 2, "layer_f32": 4 * H * run.T ** 2}))
"""


def test_capture_at_4096_tokens_allocates_no_map_of_all_heads():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, check=True
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["T"] == 4096 and got["path"] == "factors" and not got["maps"]
    # every map would take 1.07 GB (float16); one layer's float32 maps 268 MB
    assert got["extra"] < got["layer_f32"] // 2, got
    assert got["extra"] < got["all_maps_f16"] // 8, got
