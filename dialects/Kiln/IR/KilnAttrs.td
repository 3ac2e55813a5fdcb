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

def Kiln_Activation : I32EnumAttr<"Activation",
    "An activation applied by a fused epilogue", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"relu", 1>,
      I32EnumAttrCase<"relu6", 2>,
      I32EnumAttrCase<"sigmoid", 3>,
      I32EnumAttrCase<"hard_sigmoid", 4>,
      I32EnumAttrCase<"hard_swish", 5>,
      I32EnumAttrCase<"silu", 6>
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}

def Kiln_ActivationAttr : EnumAttr<Kiln_Dialect, Kiln_Activation, "activation"> {
  let assemblyFormat = "$value";
}

def Kiln_Layout : I32EnumAttr<"Layout",
    "The memory order of a 4-D activation", [
      I32EnumAttrCase<"nchw", 0>,
      I32EnumAttrCase<"nhwc", 1>
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}

def Kiln_LayoutAttr : EnumAttr<Kiln_Dialect, Kiln_Layout, "layout"> {
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
