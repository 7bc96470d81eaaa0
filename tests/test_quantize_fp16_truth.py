"""What the FP16 export keeps in FP32, as docs/quantize.md and docs/deploy.md state it (issue 24, finding 9)."""

from __future__ import annotations

from edgevsr.quantize.fp16 import fp16_nodes
from edgevsr.quantize.reference import load_reference


def test_warp_and_flow_scaling_stay_fp32_skip_and_final_add_run_fp16():
    proto, _, _ = load_reference("egvsr-lite", None, (32, 48))
    half = fp16_nodes(proto)
    g = proto.graph
    op = {n.name: n.op_type for n in g.node}
    producer = {o: n for n in g.node for o in n.output}
    final = producer[g.output[0].name]
    assert final.op_type == "Add" and final.name in half  # the output add: FP16
    skip = [producer[i] for i in final.input if i in producer and producer[i].op_type == "DepthToSpace"]
    assert skip and skip[0].name in half  # the bicubic skip's pixel shuffle (its conv too)
    assert producer[skip[0].input[0]].name in half
    assert all(n not in half for n in op if op[n] in ("GridSample", "Tanh"))  # warp and flow scaling: FP32
