"""A faithful re-implementation of torchsummaryX's summary(model, x), returning data.

torchsummaryX (v1.3) registers a forward hook on every module without child modules (so an
empty nn.Sequential() used as an identity gets a row each time it is called) and records, per
call in call order:
  layer        f"{idx}_{name}", name from get_names_dict (below; last name found wins)
  kernel_shape size of the parameter named "weight", dims 0 and 1 swapped if rank > 1; else "-"
  output_shape list(out.size()); for tuple/list outputs [-1] + size(out[0])[1:]
  params       numel of the trainable parameters; "(recursive)" for a repeated module with
               parameters; "-" when 0
  mult_adds    "weight": numel * prod(out[2:]) for classes named *Conv*, numel otherwise;
               plus numel of other params named *weight* (RNN); "-" when params is 0
Totals sum the rows (a "-" or "(recursive)" params entry counts 0; as in torchsummaryX the
Mult-Adds of a "(recursive)" row still count). No pandas, no printing.
"""
import math

import torch


def _cls_name(m):
    # torchsummaryX: str(m.__class__).split(".")[-1].split("'")[0]
    return str(m.__class__).split(".")[-1].split("'")[0]


def get_names_dict(model):
    """torchsummaryX's name walk. Returns {name: (module, dotted PyTorch path)}.

    A child with children is named parent.key (key at top level); a leaf is named
    parent.ClassName_key (key at top level).
    """
    names = {}

    def walk(module, parent_name="", parent_path=""):
        for key, m in module.named_children():
            path = parent_path + "." + key if parent_path else key
            if len(list(m.named_children())) > 0:
                name = parent_name + "." + key if parent_name else key
            else:
                name = parent_name + "." + _cls_name(m) + "_" + key if parent_name else key
            names[name] = (m, path)
            walk(m, name, path)

    walk(model)
    return names


def summary(model, x, *args, **kwargs):
    """Run model(x) in eval mode under no_grad; return {"layers": [row...], totals}."""
    # torchsummaryX scans the names dict for the module and keeps the LAST match.
    lookup = {}
    for name, (m, path) in get_names_dict(model).items():
        lookup[id(m)] = (name, path)

    rows, seen_ids, hooks = [], [], []

    def hook(module, inputs, outputs):
        cls = _cls_name(module)
        name, path = lookup[id(module)]
        if isinstance(outputs, (list, tuple)):
            out = [-1] + list(getattr(outputs[0], "data", outputs[0]).size())[1:]
        else:
            out = list(outputs.size())

        ksize, params, macs = "-", 0, 0
        for pname, p in module.named_parameters():
            params += p.nelement() * p.requires_grad
            if pname == "weight":
                ksize = list(p.size())
                if len(ksize) > 1:  # -> [in, out, k, k]
                    ksize[0], ksize[1] = ksize[1], ksize[0]
                macs += p.nelement() * math.prod(out[2:]) if "Conv" in cls else p.nelement()
            elif "weight" in pname:  # RNN inner weights such as weight_ih_l0
                macs += p.nelement()

        if list(module.named_parameters()) and id(module) in seen_ids:
            params = "(recursive)"
        seen_ids.append(id(module))
        if params == 0:
            params, macs = "-", "-"

        rows.append({"layer": f"{len(rows)}_{name}", "name": path, "class": cls,
                     "kernel_shape": ksize, "output_shape": out,
                     "params": params, "mult_adds": macs})

    def register(m):  # leaves only: Sequential/ModuleList containers are skipped
        if not m._modules:
            hooks.append(m.register_forward_hook(hook))

    model.apply(register)  # like torchsummaryX, a module shared by two parents is hooked twice
    model.eval()
    try:
        with torch.no_grad():
            model(x, *args, **kwargs)
    finally:
        for h in hooks:
            h.remove()

    as_int = lambda v: v if isinstance(v, int) else 0
    return {"layers": rows,
            "total_params": sum(as_int(r["params"]) for r in rows),
            "total_mult_adds": sum(as_int(r["mult_adds"]) for r in rows)}
