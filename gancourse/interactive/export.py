"""Export a generator's forward pass for the book's in-page interpreter (``static/gancourse-generator.js``).

Holds :func:`export_generator` (a generator -> op lists and one fp16 blob), :func:`fingerprint`
(which weights a generator holds), :func:`weights_script` (the JavaScript file that brings
a shipped generator to the static book) and :data:`SUPPORTED_OPS`.

How: the generator's own ``forward`` (or, for a style-based generator, ``mapping`` and
``synthesis``) is traced once with ``torch.fx``'s ``make_fx`` on one example code, in eval
mode. The trace records the ATen operations PyTorch really runs, with Python control flow
(shape checks, ``if self.training``), views, ``torch.cat`` of label embeddings and every
module resolved, so a new generator built from the same layer types needs no new
JavaScript: the page replays the op list. Parameters and buffers that the trace reads
become numbered tensors in one float16 blob. An operation outside :data:`SUPPORTED_OPS`
is an error here, at export, not a wrong picture in the page.

It does not run anything in a browser, write files or touch the network.
"""
from __future__ import annotations

import base64
import hashlib
import json
import operator

import torch
from torch import nn

from ._common import is_style_based

__all__ = ["SUPPORTED_OPS", "ExportError", "export_generator", "fingerprint", "weights_script", "graph_inputs",
           "export_module", "page_entry"]

# The ATen operations the page's interpreter implements (gancourse-generator.js, OPS).
SUPPORTED_OPS = frozenset({
    "aten.addmm.default", "aten.mm.default", "aten.t.default", "aten.view.default", "aten._unsafe_view.default",
    "aten.alias.default", "aten.clone.default", "aten.unsqueeze.default", "aten.squeeze.dim",
    "aten.expand.default", "aten.select.int", "aten.slice.Tensor", "aten.split.Tensor", "aten.cat.default",
    "aten.embedding.default", "aten.native_batch_norm.default", "aten._native_batch_norm_legit_no_training.default",
    "aten.convolution.default", "aten.relu.default", "aten.tanh.default", "aten.sigmoid.default",
    "aten.leaky_relu.default", "aten.rsqrt.default", "aten.sqrt.default", "aten.pow.Tensor_Scalar",
    "aten.mean.dim", "aten.add.Tensor", "aten.sub.Tensor", "aten.mul.Tensor", "aten.div.Tensor",
    "aten.repeat.default", "getitem",
})


class ExportError(ValueError):
    """The generator uses an operation the page cannot run, or is not a generator this module knows."""


class _Call(nn.Module):
    """Calls ``g.method(*inputs)`` (``g(*inputs)`` for ``forward``): one traceable entry point."""

    def __init__(self, g: nn.Module, method: str):
        super().__init__()
        self.g, self.method = g, method

    def forward(self, *inputs):
        return self.g(*inputs) if self.method == "forward" else getattr(self.g, self.method)(*inputs)


def graph_inputs(generator: nn.Module) -> dict:
    """The entry points the page needs and their example inputs (batch 1).

    Style-based generators (``mapping`` and ``synthesis``): ``mapping(z[, y])`` and
    ``synthesis(ws)``; others: ``forward(z[, y])``.
    """
    z_dim = getattr(generator, "z_dim", None) or getattr(getattr(generator, "mapping", None), "z_dim", None)
    if not isinstance(z_dim, int):
        raise ExportError(f"{type(generator).__name__} has no int z_dim")
    z = torch.zeros(1, z_dim)
    y = (torch.zeros(1, dtype=torch.long),) if getattr(generator, "n_classes", None) else ()
    if is_style_based(generator):
        dev = next(generator.parameters()).device
        was = generator.training
        generator.eval()
        try:
            with torch.no_grad():
                w = generator.mapping(z.to(dev), *(t.to(dev) for t in y)).cpu()
        finally:
            generator.train(was)
        num_ws = getattr(generator, "num_ws", None)
        ws = w.unsqueeze(1).repeat(1, num_ws, 1) if num_ws else w
        return {"mapping": (z, *y), "synthesis": (ws,)}
    return {"forward": (z, *y)}


def _encode(arg, ids):
    if isinstance(arg, torch.fx.Node):
        return {"r": ids[arg]}
    if isinstance(arg, (list, tuple)):
        return [_encode(a, ids) for a in arg]
    if arg is None or isinstance(arg, (bool, int, float, str)):
        return arg
    return str(arg)      # dtypes, devices, memory formats: the interpreter ignores them


def export_generator(generator: nn.Module) -> dict:
    """Trace ``generator``'s entry points (:func:`graph_inputs`): see :func:`export_module`."""
    return export_module(generator, graph_inputs(generator))


def export_module(module: nn.Module, entry_points: dict) -> dict:
    """Trace ``module.method(*inputs)`` for each ``method: inputs`` and return ``{"graphs", "tensors", "blob"}``.

    ``graphs`` maps an entry point to ``{"inputs": [...], "nodes": [...], "output": ...}``;
    each node is ``{"op", "args", "out"}`` with ``{"r": k}`` for the k-th value. ``tensors``
    lists ``{"shape", "offset"}`` (in float16 elements) into ``blob`` (bytes). The example
    inputs are zeros; the trace does not depend on their values.
    """
    from torch.fx.experimental.proxy_tensor import make_fx
    from torch.func import functional_call

    import copy

    was = module.training
    module.eval()
    try:
        state = {n: t.detach().cpu().float() for n, t in
                 list(module.named_parameters()) + list(module.named_buffers())}
        on_cpu = all(t.device.type == "cpu" for t in module.state_dict().values())
        cpu = module if on_cpu else copy.deepcopy(module).cpu()
        names = list(state)
        tensors, blob, which = [], [], {}
        graphs = {}
        for method, example in entry_points.items():
            wrapper = _Call(cpu, method)

            def fn(*args, _w=wrapper, _k=len(names)):
                return functional_call(_w, {f"g.{n}": a for n, a in zip(names, args[:_k])}, tuple(args[_k:]))

            with torch.no_grad():
                gm = make_fx(fn)(*[state[n] for n in names], *example)
            gm.graph.eliminate_dead_code()
            graphs[method] = _serialise(gm, names, state, len(example), tensors, blob, which)
    finally:
        module.train(was)
    offsets, total = [], 0
    for t in blob:
        offsets.append(total)
        total += t.numel()
    for entry, off in zip(tensors, offsets):
        entry["offset"] = off
    data = torch.cat([t.reshape(-1) for t in blob]).to(torch.float16).numpy().tobytes() if blob else b""
    return {"graphs": graphs, "tensors": tensors, "blob": data}


def _serialise(gm, names, state, n_inputs, tensors, blob, which) -> dict:
    ids, nodes, inputs = {}, [], []
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    n_params = len(placeholders) - n_inputs
    output = None
    for k, node in enumerate(gm.graph.nodes):
        ids[node] = k
        if node.op == "placeholder":
            pos = placeholders.index(node)
            if pos < n_params:
                if not node.users:
                    continue
                name = names[pos]
                if name not in which:
                    which[name] = len(tensors)
                    tensors.append({"name": name, "shape": list(state[name].shape)})
                    blob.append(state[name])
                nodes.append({"op": "param", "args": [which[name]], "out": k})
            else:
                inputs.append(k)
        elif node.op == "get_attr":
            raise ExportError(f"the trace holds a constant tensor {node.target!r}; only parameters and buffers "
                              f"can be exported")
        elif node.op == "call_function":
            op = "getitem" if node.target is operator.getitem else str(node.target)
            if op not in SUPPORTED_OPS:
                raise ExportError(f"the page's interpreter has no {op} (used by {node.name}); supported: "
                                  f"{', '.join(sorted(SUPPORTED_OPS))}")
            nodes.append({"op": op, "args": _encode(list(node.args), ids),
                          "kwargs": {k2: _encode(v, ids) for k2, v in node.kwargs.items()}, "out": k})
        elif node.op == "output":
            output = _encode(node.args[0], ids)
        else:
            raise ExportError(f"unexpected node {node.op} {node.target}")
    return {"inputs": inputs, "nodes": nodes, "output": output}


def fingerprint(generator: nn.Module) -> str:
    """A short hash of the generator's class and its parameters and buffers rounded to float16."""
    h = hashlib.sha256(type(generator).__name__.encode())
    for name, t in sorted(list(generator.state_dict().items())):
        if not torch.is_floating_point(t):
            continue
        h.update(name.encode())
        h.update(t.detach().cpu().to(torch.float16).numpy().tobytes())
    return h.hexdigest()[:16]


def weights_script(name: str, generator: nn.Module | None = None) -> str:
    """The JavaScript file that gives the page the shipped generator ``name``.

    ``window.GANCOURSE_WEIGHTS[name] = {...}``: the op lists, the tensor table, the
    fingerprint and the float16 blob in base64 (decoded once, by the page's interpreter).
    A ``<script>`` element loads it, so it works over ``file://`` where ``fetch()`` of a
    local file does not.
    """
    if generator is None:
        from ..pretrained import load
        generator = load(name)
    return page_entry(name, export_generator(generator), fingerprint(generator))


def page_entry(name: str, exported: dict, fp: str = "") -> str:
    """``exported`` (from :func:`export_module`) as the script that sets ``window.GANCOURSE_WEIGHTS[name]``."""
    meta = {"name": name, "fingerprint": fp, "graphs": exported["graphs"], "tensors": exported["tensors"]}
    head = json.dumps(meta, separators=(",", ":"), sort_keys=True)
    b64 = base64.b64encode(exported["blob"]).decode("ascii")
    return ("/* gancourse: the shipped generator " + json.dumps(name) + " for the in-page explorer "
            "(written by gancourse.interactive.export). */\n"
            "(window.GANCOURSE_WEIGHTS = window.GANCOURSE_WEIGHTS || {})[" + json.dumps(name) + "] = "
            + head[:-1] + ',"blob":"' + b64 + '"};\n')
