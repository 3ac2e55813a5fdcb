//===- KilnAttrs.td - kiln attributes and enums ------------*- tablegen -*-===//
//
// Attributes and enums of the kiln dialect.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_ATTRS_TD
#define KILN_ATTRS_TD

include "dialects/Kiln/IR/KilnBase.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Kiln_ParamRole : I32EnumAttr<"ParamRole",
    "Whether a named tensor is a trainable parameter or a buffer", [
      I32EnumAttrCase<"parameter", 0>,
      I32EnumAttrCase<"buffer", 1>
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}

def Kiln_ParamRoleAttr : EnumAttr<Kiln_Dialect, Kiln_ParamRole, "param_role"> {
  let assemblyFormat = "$value";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Kiln_LayerAttr : Kiln_Attr<"Layer", "layer"> {
  let summary = "The PyTorch module an op is a call of.";
  let description = [{
    `#kiln.layer<"layer1.0.downsample.0", "Conv2d">` records the module path
    (the prefix of its `state_dict()` keys) and the module class. A module
    that is called several times (the one `relu` of a torchvision Bottleneck)
    gives several ops the same attribute. Functional ops (`torch.cat`,
    `x.view`, `+`) have none.
  }];
  let parameters = (ins StringRefParameter<"module path">:$path,
                        StringRefParameter<"module class">:$className);
  let assemblyFormat = "`<` $path `,` $className `>`";
  let genVerifyDecl = 1;
}

#endif // KILN_ATTRS_TD
