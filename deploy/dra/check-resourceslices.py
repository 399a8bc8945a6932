#!/usr/bin/env python3
"""Validate DRA ResourceSlices (resource.k8s.io/v1, Kubernetes 1.34+) and
evaluate DeviceClass CEL selectors against their devices.

Usage:
    check-resourceslices.py [--allow-node-selectors] SLICES.json SELECTORS.json

SLICES.json:    one ResourceSlice, a {"kind":"List"|"ResourceSliceList","items":[...]}
                object, or a JSON array of ResourceSlices.
SELECTORS.json: JSON object  selectorName -> CEL expression string
                (as in DeviceClass.spec.selectors[].cel.expression).

Exit codes:
    0  all slices valid; stdout = {"valid": true, "devices": N,
       "selected": {sel: ["NODE/DEVICE", ...]}, "errors": {sel: ["NODE/DEVICE: msg", ...]}}
    1  at least one slice violates the API-server rules; every violation is
       printed to stderr and stdout = {"valid": false, "violations": [...]}
    2  usage error, unreadable/invalid JSON, or an invalid selector
       (not a string, longer than 10 KiB, or a CEL syntax error)

Runs in the venv made by deploy/dra/install-venv.sh (kubernetes + cel-python).
The limits and their sources are listed in docs/dra-facts.md.
"""

import argparse
import inspect
import json
import logging
import re
import sys
from decimal import Decimal

try:
    import celpy
    from celpy import celtypes
    from celpy.evaluation import CELEvalError, Evaluator
    import kubernetes.client
    from kubernetes.client import ApiClient
    from kubernetes.utils.quantity import parse_quantity
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"check-resourceslices: missing Python package ({exc}); "
        "run deploy/dra/install-venv.sh and use the python it prints\n")
    sys.exit(2)

logging.getLogger("celpy").setLevel(logging.CRITICAL)

# --------------------------------------------------------------------------
# Limits (k8s.io/api resource/v1 types.go at v0.34.0 unless noted)
# --------------------------------------------------------------------------
API_VERSION = "resource.k8s.io/v1"
KIND = "ResourceSlice"
DRIVER_NAME_MAX = 63                 # DriverNameMaxLength
POOL_NAME_MAX = 253                  # PoolNameMaxLength
MAX_DEVICES = 128                    # ResourceSliceMaxDevices
MAX_DEVICES_ADVANCED = 64            # 1.35+: devices with taints/consumesCounters
MAX_ATTRS_AND_CAPS = 32              # ResourceSliceMaxAttributesAndCapacitiesPerDevice
MAX_DOMAIN = 63                      # DeviceMaxDomainLength
MAX_ID = 32                          # DeviceMaxIDLength
MAX_KEY = MAX_DOMAIN + 1 + MAX_ID    # attributeAndCapacityMaxKeyLength (validation.go)
MAX_VALUE = 64                       # DeviceAttributeMaxValueLength
MAX_TAINTS = 4                       # DeviceTaintsMaxLength (1.34; 16 from 1.35)
MAX_BINDING_CONDITIONS = 4           # BindingConditionsMaxSize / BindingFailureConditionsMaxSize
MAX_SHARED_COUNTERS = 32             # ResourceSliceMaxSharedCounters (sum over sets)
MAX_COUNTERS_PER_DEVICE = 32         # ResourceSliceMaxCountersPerDevice
MAX_DEVICE_COUNTERS_PER_SLICE = 1024 # ResourceSliceMaxDeviceCountersPerSlice
CEL_EXPR_MAX = 10 * 1024             # CELSelectorExpressionMaxLength
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1

# JSON fields of the v1 structs as of Kubernetes 1.34 (types.go v0.34.0).
FIELDS_134 = {
    "ResourceSlice": {"apiVersion", "kind", "metadata", "spec"},
    "ResourceSliceSpec": {"driver", "pool", "nodeName", "nodeSelector", "allNodes",
                          "devices", "perDeviceNodeSelection", "sharedCounters"},
    "ResourcePool": {"name", "generation", "resourceSliceCount"},
    "Device": {"name", "attributes", "capacity", "consumesCounters", "nodeName",
               "nodeSelector", "allNodes", "taints", "bindsToNode", "bindingConditions",
               "bindingFailureConditions", "allowMultipleAllocations"},
    "DeviceAttribute": {"int", "bool", "string", "version"},
    "DeviceCapacity": {"value", "requestPolicy"},
    "CapacityRequestPolicy": {"default", "validValues", "validRange"},
    "CapacityRequestPolicyRange": {"min", "max", "step"},
    "CounterSet": {"name", "counters"},
    "Counter": {"value"},
    "DeviceCounterConsumption": {"counterSet", "counters"},
    "DeviceTaint": {"key", "value", "effect", "timeAdded"},
}
LIST_ATTRIBUTE_FIELDS = {"ints", "bools", "strings", "versions"}  # alpha, 1.36+

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Same regex as pkg/apis/resource/validation (semverRe), semver.org 2.0.0.
_NUM = r"(0|[1-9]\d*)"
_PRE = r"(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_BUILD = r"[0-9a-zA-Z-]+"
SEMVER_RE = re.compile(
    rf"^{_NUM}\.{_NUM}\.{_NUM}(-{_PRE}(\.{_PRE})*)?(\+{_BUILD}(\.{_BUILD})*)?$")
# apimachinery resource.Quantity syntax (suffix: binarySI, decimalSI or exponent).
QUANTITY_RE = re.compile(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
TAINT_EFFECTS = {"NoSchedule", "NoExecute"}


class Violations:
    def __init__(self):
        self.items = []

    def add(self, path, msg):
        self.items.append(f"{path}: {msg}")


def is_dns_label(s):
    return isinstance(s, str) and len(s) <= 63 and bool(DNS1123_LABEL.match(s))


def is_dns_subdomain(s):
    return isinstance(s, str) and len(s) <= 253 and bool(DNS1123_SUBDOMAIN.match(s))


def check_driver_name(v, path, name, what="driver name"):
    """corevalidation.ValidateCSIDriverName: <=63, DNS subdomain after lower-casing."""
    if not isinstance(name, str) or name == "":
        v.add(path, f"{what} is required")
        return
    if len(name) > DRIVER_NAME_MAX:
        v.add(path, f"{what} {name!r} is {len(name)} characters, must be at most {DRIVER_NAME_MAX}")
    if not DNS1123_SUBDOMAIN.match(name.lower()):
        v.add(path, f"{what} {name!r} must be a DNS subdomain (lowercase alphanumerics, '-', '.')")


def check_qualified_name(v, path, name):
    """validateQualifiedName: C identifier (<=32) optionally prefixed by 'domain/'."""
    if len(name) > MAX_KEY:
        v.add(path, f"name is {len(name)} characters, must be at most {MAX_KEY} (domain/ID)")
    parts = name.split("/")
    if len(parts) > 2:
        v.add(path, "must not contain more than one slash")
        return
    if len(parts) == 2:
        domain, ident = parts
        if domain == "":
            v.add(path, "the domain must not be empty")
        else:
            check_driver_name(v, path, domain, "domain")
    else:
        ident = parts[0]
    if ident == "":
        v.add(path, "the name must not be empty")
        return
    if len(ident) > MAX_ID:
        v.add(path, f"identifier {ident!r} is {len(ident)} characters, must be at most {MAX_ID}")
    if not C_IDENTIFIER.match(ident):
        v.add(path, f"identifier {ident!r} must be a C identifier ([A-Za-z_][A-Za-z0-9_]*)")


def check_fields(v, path, obj, struct):
    if not isinstance(obj, dict):
        v.add(path, f"must be a JSON object ({struct})")
        return False
    allowed = FIELDS_134[struct]
    for key in obj:
        if key not in allowed:
            extra = ""
            if struct == "Device" and key == "basic":
                extra = " (v1beta1 shape; v1 puts attributes/capacity directly on the device)"
            elif struct == "DeviceAttribute" and key in LIST_ATTRIBUTE_FIELDS:
                extra = " (list-valued attributes are alpha, DRAListTypeAttributes, Kubernetes 1.36+)"
            v.add(path, f"unknown field {key!r} for {struct} in resource.k8s.io/v1 (1.34){extra}")
    return True


def check_quantity(v, path, q):
    if not isinstance(q, (str, int)) or isinstance(q, bool) or not QUANTITY_RE.match(str(q)):
        v.add(path, f"{q!r} is not a valid Kubernetes quantity")
        return None
    try:
        return parse_quantity(str(q))
    except ValueError as exc:
        v.add(path, f"{q!r} is not a valid Kubernetes quantity ({exc})")
        return None


def check_attribute(v, path, attr):
    if not check_fields(v, path, attr, "DeviceAttribute"):
        return
    set_fields = [k for k in ("int", "bool", "string", "version") if attr.get(k) is not None]
    set_fields += [k for k in LIST_ATTRIBUTE_FIELDS if k in attr]
    if len(set_fields) != 1:
        v.add(path, f"exactly one of int, bool, string, version must be set (got {set_fields or 'none'})")
    if "int" in attr and attr["int"] is not None:
        val = attr["int"]
        if isinstance(val, bool) or not isinstance(val, int):
            v.add(f"{path}.int", f"{val!r} is not an integer")
        elif not INT64_MIN <= val <= INT64_MAX:
            v.add(f"{path}.int", f"{val} does not fit in int64")
    if "bool" in attr and attr["bool"] is not None and not isinstance(attr["bool"], bool):
        v.add(f"{path}.bool", f"{attr['bool']!r} is not a boolean")
    if "string" in attr and attr["string"] is not None:
        val = attr["string"]
        if not isinstance(val, str):
            v.add(f"{path}.string", f"{val!r} is not a string")
        elif len(val) > MAX_VALUE:
            v.add(f"{path}.string", f"is {len(val)} characters, must be at most {MAX_VALUE}")
    if "version" in attr and attr["version"] is not None:
        val = attr["version"]
        if not isinstance(val, str):
            v.add(f"{path}.version", f"{val!r} is not a string")
        else:
            if not SEMVER_RE.match(val):
                v.add(f"{path}.version", f"{val!r} must be a string compatible with semver.org spec 2.0.0")
            if len(val) > MAX_VALUE:
                v.add(f"{path}.version", f"is {len(val)} characters, must be at most {MAX_VALUE}")


def check_capacity(v, path, cap, multi_alloc):
    if not check_fields(v, path, cap, "DeviceCapacity"):
        return
    if "value" not in cap:
        v.add(f"{path}.value", "is required")
    else:
        check_quantity(v, f"{path}.value", cap["value"])
    pol = cap.get("requestPolicy")
    if pol is not None:
        if not multi_alloc:
            v.add(f"{path}.requestPolicy", "forbidden unless allowMultipleAllocations is true")
        if check_fields(v, f"{path}.requestPolicy", pol, "CapacityRequestPolicy"):
            if pol.get("validRange") is not None:
                check_fields(v, f"{path}.requestPolicy.validRange", pol["validRange"],
                             "CapacityRequestPolicyRange")


def check_device(v, path, dev, per_device_nodes):
    if not check_fields(v, path, dev, "Device"):
        return 0
    name = dev.get("name")
    if not name:
        v.add(f"{path}.name", "is required")
    elif not is_dns_label(name):
        v.add(f"{path}.name", f"{name!r} must be a DNS label (<=63, lowercase alphanumerics and '-')")
    attrs = dev.get("attributes") or {}
    caps = dev.get("capacity") or {}
    if not isinstance(attrs, dict):
        v.add(f"{path}.attributes", "must be a JSON object")
        attrs = {}
    if not isinstance(caps, dict):
        v.add(f"{path}.capacity", "must be a JSON object")
        caps = {}
    total = len(attrs) + len(caps)
    if total > MAX_ATTRS_AND_CAPS:
        v.add(path, f"has {total} attributes+capacities, the total must not exceed {MAX_ATTRS_AND_CAPS}")
    for key, attr in attrs.items():
        apath = f"{path}.attributes[{key!r}]"
        check_qualified_name(v, apath, key)
        check_attribute(v, apath, attr)
    multi = dev.get("allowMultipleAllocations") is True
    for key, cap in caps.items():
        cpath = f"{path}.capacity[{key!r}]"
        check_qualified_name(v, cpath, key)
        check_capacity(v, cpath, cap, multi)
    taints = dev.get("taints") or []
    if len(taints) > MAX_TAINTS:
        v.add(f"{path}.taints", f"has {len(taints)} entries, must have at most {MAX_TAINTS} (Kubernetes 1.34)")
    for i, t in enumerate(taints):
        tpath = f"{path}.taints[{i}]"
        if check_fields(v, tpath, t, "DeviceTaint"):
            if not t.get("key"):
                v.add(f"{tpath}.key", "is required")
            if t.get("effect") not in TAINT_EFFECTS:
                v.add(f"{tpath}.effect", f"{t.get('effect')!r} must be one of {sorted(TAINT_EFFECTS)}")
    for fld in ("bindingConditions", "bindingFailureConditions"):
        if len(dev.get(fld) or []) > MAX_BINDING_CONDITIONS:
            v.add(f"{path}.{fld}", f"must have at most {MAX_BINDING_CONDITIONS} entries")
    counters = 0
    for i, cc in enumerate(dev.get("consumesCounters") or []):
        if check_fields(v, f"{path}.consumesCounters[{i}]", cc, "DeviceCounterConsumption"):
            counters += len(cc.get("counters") or {})
    if counters > MAX_COUNTERS_PER_DEVICE:
        v.add(f"{path}.consumesCounters", f"uses {counters} counters, at most {MAX_COUNTERS_PER_DEVICE}")
    node_fields = [f for f in ("nodeName", "nodeSelector", "allNodes") if dev.get(f) is not None]
    if per_device_nodes:
        if len(node_fields) != 1:
            v.add(path, "exactly one of nodeName, nodeSelector, allNodes is required when "
                        "spec.perDeviceNodeSelection is true")
        if dev.get("nodeName") is not None and not is_dns_subdomain(dev["nodeName"]):
            v.add(f"{path}.nodeName", f"{dev['nodeName']!r} must be a DNS subdomain")
    elif node_fields:
        v.add(path, f"{', '.join(node_fields)} can only be set if spec.perDeviceNodeSelection is true")
    return counters


def check_slice(v, path, s, allow_node_selectors):
    """API-server validation of one ResourceSlice (pkg/apis/resource/validation)."""
    if not check_fields(v, path, s, "ResourceSlice"):
        return
    if s.get("apiVersion") != API_VERSION:
        v.add(f"{path}.apiVersion", f"{s.get('apiVersion')!r} must be {API_VERSION!r}")
    if s.get("kind") != KIND:
        v.add(f"{path}.kind", f"{s.get('kind')!r} must be {KIND!r}")
    meta = s.get("metadata") or {}
    name, gen = meta.get("name"), meta.get("generateName")
    if name:
        if not is_dns_subdomain(name):
            v.add(f"{path}.metadata.name", f"{name!r} must be a DNS subdomain (<=253)")
    elif gen:
        prefix = gen[:-1] if gen.endswith("-") else gen
        if prefix and not is_dns_subdomain(prefix):
            v.add(f"{path}.metadata.generateName", f"{gen!r} must be a DNS subdomain prefix")
    else:
        v.add(f"{path}.metadata.name", "name or generateName is required")
    if meta.get("namespace"):
        v.add(f"{path}.metadata.namespace", "ResourceSlice is cluster-scoped; namespace must be empty")
    spec = s.get("spec")
    if not check_fields(v, f"{path}.spec", spec, "ResourceSliceSpec"):
        return
    sp = f"{path}.spec"
    check_driver_name(v, f"{sp}.driver", spec.get("driver"))
    pool = spec.get("pool")
    if check_fields(v, f"{sp}.pool", pool, "ResourcePool"):
        pname = pool.get("name")
        if not pname:
            v.add(f"{sp}.pool.name", "is required")
        else:
            if len(pname) > POOL_NAME_MAX:
                v.add(f"{sp}.pool.name", f"is {len(pname)} characters, must be at most {POOL_NAME_MAX}")
            for part in pname.split("/"):
                if not is_dns_subdomain(part):
                    v.add(f"{sp}.pool.name", f"part {part!r} of {pname!r} must be a DNS subdomain "
                                             "(pool names are DNS subdomains separated by '/')")
        rsc = pool.get("resourceSliceCount")
        if isinstance(rsc, bool) or not isinstance(rsc, int) or rsc <= 0:
            v.add(f"{sp}.pool.resourceSliceCount", f"{rsc!r} must be an integer greater than zero")
        g = pool.get("generation", 0)
        if isinstance(g, bool) or not isinstance(g, int) or g < 0:
            v.add(f"{sp}.pool.generation", f"{g!r} must be an integer >= 0")
    selection = []
    if spec.get("nodeName") is not None:
        if spec["nodeName"] == "":
            v.add(f"{sp}.nodeName", "must be either unset or set to a non-empty string")
        else:
            selection.append("nodeName")
            if not is_dns_subdomain(spec["nodeName"]):
                v.add(f"{sp}.nodeName", f"{spec['nodeName']!r} must be a DNS subdomain (node name)")
    if spec.get("nodeSelector") is not None:
        selection.append("nodeSelector")
        terms = (spec["nodeSelector"] or {}).get("nodeSelectorTerms") or []
        if len(terms) != 1:
            v.add(f"{sp}.nodeSelector.nodeSelectorTerms", "must have exactly one node selector term")
    for flag in ("allNodes", "perDeviceNodeSelection"):
        if spec.get(flag) is not None:
            if spec[flag] is True:
                selection.append(flag)
            else:
                v.add(f"{sp}.{flag}", "must be either unset or set to true")
    if len(selection) != 1:
        v.add(sp, "exactly one of nodeName, nodeSelector, allNodes, perDeviceNodeSelection is "
                  f"required (got {selection or 'none'})")
    elif selection[0] != "nodeName" and not allow_node_selectors:
        v.add(sp, f"uses {selection[0]}; this checker requires node-local slices (spec.nodeName) "
                  "unless --allow-node-selectors is given")
    shared = spec.get("sharedCounters") or []
    total_shared = 0
    set_names = set()
    for i, cs in enumerate(shared):
        cpath = f"{sp}.sharedCounters[{i}]"
        if check_fields(v, cpath, cs, "CounterSet"):
            if not is_dns_label(cs.get("name")):
                v.add(f"{cpath}.name", f"{cs.get('name')!r} must be a DNS label")
            elif cs["name"] in set_names:
                v.add(f"{cpath}.name", f"duplicate counter set {cs['name']!r}")
            set_names.add(cs.get("name"))
            total_shared += len(cs.get("counters") or {})
    if total_shared > MAX_SHARED_COUNTERS:
        v.add(f"{sp}.sharedCounters", f"defines {total_shared} counters, at most {MAX_SHARED_COUNTERS}")
    devices = spec.get("devices")
    if devices is None:
        devices = []
    if not isinstance(devices, list):
        v.add(f"{sp}.devices", "must be a JSON array")
        return
    advanced = any(isinstance(d, dict) and (d.get("taints") or d.get("consumesCounters"))
                   for d in devices)
    limit = MAX_DEVICES_ADVANCED if advanced else MAX_DEVICES
    if len(devices) > limit:
        why = " (devices with taints or consumesCounters: 64 from Kubernetes 1.35)" if advanced else ""
        v.add(f"{sp}.devices", f"has {len(devices)} devices, must have at most {limit}{why}")
        return  # the API server stops here too (DoS protection)
    seen = {}
    slice_counters = 0
    per_device = spec.get("perDeviceNodeSelection") is True
    for i, dev in enumerate(devices):
        dname = dev.get("name") if isinstance(dev, dict) else None
        dpath = f"{sp}.devices[{i}]" + (f" ({dname})" if dname else "")
        slice_counters += check_device(v, dpath, dev, per_device)
        if dname:
            if dname in seen:
                v.add(f"{dpath}.name", f"duplicate device name (also spec.devices[{seen[dname]}])")
            else:
                seen[dname] = i
            # Checker rule, not an API-server rule: "x" and "<driver>/x" both
            # land on device.attributes[<driver>].x in CEL, so one silently wins.
            for fld in ("attributes", "capacity"):
                keys = (dev.get(fld) or {}) if isinstance(dev.get(fld) or {}, dict) else {}
                drv = spec.get("driver") or ""
                for k in keys:
                    if "/" not in k and f"{drv}/{k}" in keys:
                        v.add(f"{dpath}.{fld}", f"{k!r} and {drv + '/' + k!r} are the same CEL "
                                                "name (checker rule: ambiguous, API server accepts it)")
    if slice_counters > MAX_DEVICE_COUNTERS_PER_SLICE:
        v.add(f"{sp}.devices", f"consume {slice_counters} counters in total, at most "
                               f"{MAX_DEVICE_COUNTERS_PER_SLICE}")


# --------------------------------------------------------------------------
# Deserialization through the official kubernetes client models
# --------------------------------------------------------------------------
def deserialize_v1(api, obj):
    """Return a V1ResourceSlice built by the kubernetes client's own deserializer."""
    params = list(inspect.signature(api.deserialize).parameters)
    text = json.dumps(obj)
    if "content_type" in params:  # kubernetes >= 35 (pydantic models)
        return api.deserialize(text, "V1ResourceSlice", "application/json")

    class FakeResponse:  # kubernetes <= 34: deserialize(response, type)
        data = text
    return api.deserialize(FakeResponse(), "V1ResourceSlice")


# --------------------------------------------------------------------------
# CEL environment shaped like k8s.io/dynamic-resource-allocation/cel
# --------------------------------------------------------------------------
SEMVER_NORMALIZE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$")


class Semver:
    """CEL value for a `version` attribute (k8s apiserver cel.Semver)."""

    def __init__(self, text):
        m = SEMVER_RE.match(text)
        if not m:
            raise ValueError(f"invalid semver {text!r}")
        self.text = text
        core, _, build = text.partition("+")
        core, _, pre = core.partition("-")
        self.major, self.minor, self.patch = (int(x) for x in core.split("."))
        self.pre = pre.split(".") if pre else []

    def _key(self):
        # semver.org precedence: prerelease < release; numeric ids < alnum ids.
        pre = [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre]
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def compare(self, other):
        a, b = self._key(), other._key()
        return (a > b) - (a < b)

    def __eq__(self, other):
        if not isinstance(other, Semver):
            return NotImplemented
        return self.compare(other) == 0

    def __hash__(self):
        return hash(self._key()[:4])

    def __repr__(self):
        return f"semver({self.text!r})"


class Quantity:
    """CEL value for a capacity (k8s apiserver cel.Quantity), backed by Decimal."""

    def __init__(self, text):
        if not QUANTITY_RE.match(str(text)):
            raise ValueError(f"invalid quantity {text!r}")
        self.text = str(text)
        self.value = parse_quantity(self.text)

    def __eq__(self, other):
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.value == other.value

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return f"quantity({self.text!r})"


def _need(obj, *types):
    if not isinstance(obj, types):
        raise TypeError(f"no such overload for receiver {type(obj).__name__}")


def _normalize_semver(s):
    m = SEMVER_NORMALIZE.match(s)
    if not m:
        return s
    parts = [str(int(x)) if x is not None else "0" for x in m.group(1, 2, 3)]
    return ".".join(parts) + m.group(4)


def f_semver(s, normalize=celtypes.BoolType(False)):
    _need(s, celtypes.StringType)
    return Semver(_normalize_semver(str(s)) if normalize else str(s))


def f_is_semver(s, normalize=celtypes.BoolType(False)):
    _need(s, celtypes.StringType)
    try:
        f_semver(s, normalize)
        return celtypes.BoolType(True)
    except ValueError:
        return celtypes.BoolType(False)


def f_quantity(s):
    _need(s, celtypes.StringType)
    return Quantity(str(s))


def f_is_quantity(s):
    _need(s, celtypes.StringType)
    try:
        Quantity(str(s))
        return celtypes.BoolType(True)
    except ValueError:
        return celtypes.BoolType(False)


def _cmp(a, b):
    if isinstance(a, Semver) and isinstance(b, Semver):
        return a.compare(b)
    if isinstance(a, Quantity):
        bv = b.value if isinstance(b, Quantity) else (
            Decimal(int(b)) if isinstance(b, celtypes.IntType) else None)
        if bv is None:
            raise TypeError("no such overload")
        return (a.value > bv) - (a.value < bv)
    raise TypeError("no such overload")


def _int_part(a, which):
    _need(a, Semver)
    return celtypes.IntType(getattr(a, which))


def _q_arith(a, b, sign):
    _need(a, Quantity)
    bv = b.value if isinstance(b, Quantity) else Decimal(int(b))
    return Quantity(str(a.value + sign * bv))


def _as_integer(a):
    _need(a, Quantity)
    if a.value != a.value.to_integral_value() or not INT64_MIN <= a.value <= INT64_MAX:
        raise ValueError("cannot convert value to integer")
    return celtypes.IntType(int(a.value))


def _hetero_eq(a, b):
    """cel-go (as used by Kubernetes) has heterogeneous equality: values of
    different types compare unequal instead of raising "no such overload"."""
    try:
        return celpy.evaluation.bool_eq(a, b)
    except TypeError:
        return celtypes.BoolType(False)


def _hetero_ne(a, b):
    try:
        return celpy.evaluation.bool_ne(a, b)
    except TypeError:
        return celtypes.BoolType(True)


CEL_FUNCTIONS = {
    "_==_": _hetero_eq,
    "_!=_": _hetero_ne,
    "semver": f_semver,
    "isSemver": f_is_semver,
    "quantity": f_quantity,
    "isQuantity": f_is_quantity,
    "compareTo": lambda a, b: celtypes.IntType(_cmp(a, b)),
    "isGreaterThan": lambda a, b: celtypes.BoolType(_cmp(a, b) > 0),
    "isLessThan": lambda a, b: celtypes.BoolType(_cmp(a, b) < 0),
    "major": lambda a: _int_part(a, "major"),
    "minor": lambda a: _int_part(a, "minor"),
    "patch": lambda a: _int_part(a, "patch"),
    "sign": lambda a: (_need(a, Quantity), celtypes.IntType((a.value > 0) - (a.value < 0)))[1],
    "isInteger": lambda a: (_need(a, Quantity), celtypes.BoolType(
        a.value == a.value.to_integral_value() and INT64_MIN <= a.value <= INT64_MAX))[1],
    "asInteger": _as_integer,
    "asApproximateFloat": lambda a: (_need(a, Quantity), celtypes.DoubleType(float(a.value)))[1],
    "add": lambda a, b: _q_arith(a, b, 1),
    "sub": lambda a, b: _q_arith(a, b, -1),
}


class DefaultEmptyMap(celtypes.MapType):
    """device.attributes / device.capacity: unknown domain -> empty map (like the k8s mapper)."""

    def __getitem__(self, key):
        try:
            return super().__getitem__(key)
        except KeyError:
            return celtypes.MapType({})


class K8sEvaluator(Evaluator):
    """celpy evaluator plus the cel.bind(var, init, expr) macro that Kubernetes enables."""

    def member_dot_arg(self, tree):
        member_tree, method = tree.children[0], tree.children[1]
        if method.value == "bind" and len(tree.children) == 3:
            idents = [t for t in member_tree.iter_subtrees() if t.data == "ident"]
            if (len(idents) == 1 and idents[0].children[0].value == "cel"
                    and len(list(member_tree.iter_subtrees())) == 3):
                args = tree.children[2].children
                if len(args) != 3:
                    return CELEvalError("cel.bind() needs 3 arguments", TypeError, None, tree=tree)
                var_idents = list(args[0].find_data("ident"))
                if len(var_idents) != 1:
                    return CELEvalError("cel.bind() first argument must be an identifier",
                                        TypeError, None, tree=tree)
                value = self.visit(args[1])
                if isinstance(value, CELEvalError):
                    return value
                name = var_idents[0].children[0].value
                return self.sub_evaluator(args[2]).evaluate({name: value})
        return super().member_dot_arg(tree)


class K8sRunner(celpy.InterpretedRunner):
    def evaluate(self, context):
        return K8sEvaluator(ast=self.ast, activation=self.new_activation()).evaluate(context)


def cel_attr_value(attr):
    if attr.get("int") is not None:
        return celtypes.IntType(attr["int"])
    if attr.get("bool") is not None:
        return celtypes.BoolType(attr["bool"])
    if attr.get("string") is not None:
        return celtypes.StringType(attr["string"])
    return Semver(attr["version"])


def split_qualified(name, driver):
    """parseQualifiedName: names without a domain belong to the driver's domain."""
    if "/" in name:
        domain, ident = name.split("/", 1)
        return domain, ident
    return driver, name


def device_activation(driver, dev):
    attrs, caps = {}, {}
    for key, attr in (dev.get("attributes") or {}).items():
        domain, ident = split_qualified(key, driver)
        attrs.setdefault(celtypes.StringType(domain), {})[celtypes.StringType(ident)] = cel_attr_value(attr)
    for key, cap in (dev.get("capacity") or {}).items():
        domain, ident = split_qualified(key, driver)
        caps.setdefault(celtypes.StringType(domain), {})[celtypes.StringType(ident)] = Quantity(cap["value"])
    device = celtypes.MapType({
        celtypes.StringType("driver"): celtypes.StringType(driver),
        celtypes.StringType("allowMultipleAllocations"):
            celtypes.BoolType(dev.get("allowMultipleAllocations") is True),
        celtypes.StringType("attributes"):
            DefaultEmptyMap({k: celtypes.MapType(v) for k, v in attrs.items()}),
        celtypes.StringType("capacity"):
            DefaultEmptyMap({k: celtypes.MapType(v) for k, v in caps.items()}),
    })
    return {"device": device}


def eval_error_text(exc):
    """Short, single-line text for a celpy CELEvalError (args: msg, exc class, exc args)."""
    msg = str(exc.args[0]) if exc.args else repr(exc)
    msg = re.sub(r" \(in activation .*", "", msg, flags=re.S)
    msg = re.sub(r"Token\('RULE', '(\w+)'\)", r"\1", msg)
    detail = exc.args[2] if len(exc.args) > 2 and exc.args[2] else None
    if detail:
        detail = " ".join(str(d) for d in detail)
        if msg == "return error for overflow":  # celpy's label for any ValueError
            msg = detail
        elif detail not in msg:
            msg = f"{msg}: {detail}"
    msg = " ".join(msg.split())
    return msg if len(msg) <= 300 else msg[:297] + "..."


def cel_type_name(value):
    for t, n in ((celtypes.BoolType, "bool"), (celtypes.IntType, "int"), (celtypes.UintType, "uint"),
                 (celtypes.DoubleType, "double"), (celtypes.StringType, "string"),
                 (celtypes.MapType, "map"), (celtypes.ListType, "list"), (Semver, "kubernetes.Semver"),
                 (Quantity, "kubernetes.Quantity")):
        if isinstance(value, t):
            return n
    return type(value).__name__


# --------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------
def load_json(path, what):
    def no_dupes(pairs):
        obj = {}
        for k, val in pairs:
            if k in obj:
                raise ValueError(f"duplicate JSON key {k!r}")
            obj[k] = val
        return obj
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh, object_pairs_hook=no_dupes)
    except (OSError, ValueError) as exc:
        fail(2, f"{what} {path}: {exc}")


def fail(code, msg):
    sys.stderr.write(f"check-resourceslices: {msg}\n")
    sys.exit(code)


def extract_slices(doc):
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and doc.get("kind") in ("List", "ResourceSliceList") and "items" in doc:
        items = doc.get("items")
        if not isinstance(items, list):
            fail(2, "list object: items must be a JSON array")
        if doc.get("kind") == "ResourceSliceList":
            # The API server omits apiVersion/kind on items of a typed list.
            items = [dict({"apiVersion": doc.get("apiVersion"), "kind": KIND}, **it)
                     if isinstance(it, dict) else it for it in items]
        return items
    if isinstance(doc, dict):
        return [doc]
    fail(2, "SLICES.json must be a ResourceSlice, a List or a JSON array")


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Validate resource.k8s.io/v1 ResourceSlices and evaluate CEL device selectors.")
    ap.add_argument("slices", metavar="SLICES.json")
    ap.add_argument("selectors", metavar="SELECTORS.json")
    ap.add_argument("--allow-node-selectors", action="store_true",
                    help="accept slices using nodeSelector/allNodes/perDeviceNodeSelection "
                         "(their devices are reported as '*/DEVICE' unless the device has nodeName)")
    args = ap.parse_args(argv)

    slices = extract_slices(load_json(args.slices, "slices file"))
    selectors = load_json(args.selectors, "selectors file")
    if not isinstance(selectors, dict):
        fail(2, "SELECTORS.json must be a JSON object name -> CEL expression")

    # ---- validation --------------------------------------------------------
    v = Violations()
    api = ApiClient()
    pool_devices = {}
    for i, s in enumerate(slices):
        label = f"slices[{i}]"
        if isinstance(s, dict) and isinstance(s.get("metadata"), dict) and s["metadata"].get("name"):
            label += f" ({s['metadata']['name']})"
        before = len(v.items)
        check_slice(v, label, s, args.allow_node_selectors)
        if len(v.items) == before:
            try:
                deserialize_v1(api, s)
            except Exception as exc:  # pydantic ValidationError or client ValueError
                v.add(label, "kubernetes client rejected it as V1ResourceSlice: "
                             + " ".join(str(exc).split())[:500])
        if isinstance(s, dict) and isinstance(s.get("spec"), dict):
            spec = s["spec"]
            pool = spec.get("pool") if isinstance(spec.get("pool"), dict) else {}
            for dev in spec.get("devices") or []:
                if isinstance(dev, dict) and dev.get("name"):
                    key = (spec.get("driver"), pool.get("name"), pool.get("generation"), dev["name"])
                    if key in pool_devices:
                        v.add(f"{label}.spec.devices ({dev['name']})",
                              f"device name already used in {pool_devices[key]} for driver "
                              f"{key[0]!r} pool {key[1]!r} generation {key[2]}: device names must "
                              "be unique within a pool across its ResourceSlices")
                    else:
                        pool_devices[key] = label
    if v.items:
        for item in v.items:
            sys.stderr.write(f"INVALID {item}\n")
        json.dump({"valid": False, "violations": v.items}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 1

    # ---- selectors -----------------------------------------------------------
    env = celpy.Environment(runner_class=K8sRunner)
    programs = {}
    for name, expr in selectors.items():
        if not isinstance(expr, str):
            fail(2, f"selector {name!r}: expression must be a string")
        if len(expr) > CEL_EXPR_MAX:
            fail(2, f"selector {name!r}: expression is {len(expr)} bytes, at most {CEL_EXPR_MAX}")
        try:
            programs[name] = env.program(env.compile(expr), functions=CEL_FUNCTIONS)
        except Exception as exc:
            fail(2, f"selector {name!r}: CEL compilation failed: {' '.join(str(exc).split())}")

    selected = {name: [] for name in selectors}
    errors = {name: [] for name in selectors}
    n_devices = 0
    for s in slices:
        spec = s["spec"]
        driver = spec["driver"]
        for dev in spec.get("devices") or []:
            n_devices += 1
            node = dev.get("nodeName") or spec.get("nodeName") or "*"
            label = f"{node}/{dev['name']}"
            activation = device_activation(driver, dev)
            for name, prog in programs.items():
                try:
                    result = prog.evaluate(activation)
                except CELEvalError as exc:
                    errors[name].append(f"{label}: CEL runtime error: {eval_error_text(exc)}")
                    continue
                except Exception as exc:  # library or function failure
                    errors[name].append(f"{label}: CEL runtime error: {type(exc).__name__}: {exc}")
                    continue
                if isinstance(result, CELEvalError):
                    errors[name].append(f"{label}: CEL runtime error: {eval_error_text(result)}")
                elif not isinstance(result, celtypes.BoolType):
                    errors[name].append(f"{label}: CEL result of type {cel_type_name(result)} "
                                        "could not be converted to bool")
                elif bool(result):
                    selected[name].append(label)
    out = {
        "valid": True,
        "devices": n_devices,
        "selected": {k: sorted(val) for k, val in selected.items()},
        "errors": {k: sorted(val) for k, val in errors.items()},
    }
    json.dump(out, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
