"""Machine-made mutants of the reference solutions: every solution region, one small change at a time.

The operators are mutmut's own (``mutmut.mutation.mutators.mutation_operators``: arithmetic and comparison
swaps, number +1, True/False, ``a = None``, dropped call arguments, ...), run through mutmut's own visitor
restricted to the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, plus the tensor operators
below that mutmut does not have (reduction dims, swapped arguments and operands, dropped statements and terms,
constants 0/1/-1/off by one, dtype and device, in place versus copy, clone/detach/transpose dropped).
mutmut's runner is not used: it imports the mutated module through trampolines inside the test process,
whereas here the code under test runs in the engine's sandboxed child, one notebook per mutant.

A mutant's id hashes what it is, not where the file puts it (assignment, cell, enclosing function,
operator, the original and the replacement code, and which of several identical sites), so a reviewed
list of ids survives edits elsewhere in the notebook.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider
from mutmut.mutation.file_mutation import MutationVisitor
from mutmut.mutation.mutators import mutation_operators
from mutmut.mutation.pragma_handling import IgnoredCode

from grader.engine.notebook import is_autograded_test, load_notebook, nbgrader_meta
from grader.layout import source_notebook

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Region:
    """One solution cell: its grade_id, the part whose test cell follows it, its source and region lines."""
    assignment: str
    cell: str
    part: str
    source: str
    lines: frozenset[int]  # 1-based, strictly between the markers


@dataclass(frozen=True)
class Mutant:
    id: str
    assignment: str
    part: str
    cell: str
    operator: str
    line: int
    diff: str     # the changed lines, "- old" / "+ new"
    source: str   # the whole mutated cell, markers included
    device_only: bool = False  # it only leaves a tensor or module off the requested device: caught only where CUDA is

    @property
    def answer(self) -> str:
        """The mutated cell as a student hands it in (the markers removed, as the release does)."""
        return strip_markers(self.source)


@dataclass(frozen=True)
class Equivalent:
    """A surviving mutant reviewed as equivalent (``grader/checks/<a>/equivalent_mutants.py``): its id, its part,
    its diff as reviewed (a test fails when the mutant with that id no longer has it) and why it computes the
    same function within the statement's tolerance."""
    id: str
    part: str
    diff: str
    reason: str
    cuda_only: bool = False  # the same function on the CPU only: it leaves a tensor off the device (killed where CUDA is)


@dataclass(frozen=True)
class Probe:
    """How ``tests/test_equivalent_mutants.py`` compares a reviewed mutant with the reference on one part:
    ``run(namespace, rng, device)`` calls the part's functions on inputs drawn from ``rng`` across what the
    statement allows and returns their results; two runs agree when every tensor and number is within
    ``rtol``/``atol`` (the statement's tolerance) and everything else is equal."""
    run: object
    rtol: float
    atol: float


def strip_markers(source: str) -> str:
    return "\n".join(l for l in source.splitlines() if BEGIN not in l and END not in l)


def regions(assignment: str) -> list[Region]:
    out, pending = [], []
    for cell in load_notebook(source_notebook(assignment)).cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            pending.append((meta["grade_id"], cell.source))
        elif is_autograded_test(cell):
            for gid, src in pending:
                out.append(Region(assignment, gid, meta["grade_id"], src, _region_lines(src)))
            pending = []
    return out


def _region_lines(source: str) -> frozenset[int]:
    lines, inside = set(), False
    for n, line in enumerate(source.splitlines(), 1):
        if BEGIN in line:
            inside = True
        elif END in line:
            inside = False
        elif inside:
            lines.add(n)
    return frozenset(lines)


# -- the tensor operators mutmut lacks -----------------------------------------------------------------------
DIM_KEYWORDS = {"dim", "axis"}
REDUCTIONS = {"sum", "mean", "amax", "amin", "max", "min", "prod", "softmax", "log_softmax", "argmax", "argmin",
              "vector_norm", "norm", "logsumexp", "std", "var", "cumsum", "sort"}
SWAPPED_NAMES = {"min": "max", "max": "min", "amax": "amin", "amin": "amax", "sum": "mean", "mean": "sum",
                 "argmax": "argmin", "argmin": "argmax", "float64": "float32", "float32": "float64",
                 "eigvalsh": "svdvals", "svdvals": "eigvalsh"}
COPY_METHODS = {"clone", "detach", "contiguous"}
MOVE_METHODS = {"to", "cpu", "cuda", "double", "float"}
INPLACE_TWINS = {"add", "sub", "mul", "div", "clamp", "pow", "sqrt", "abs", "neg", "exp", "zero", "copy",
                 "fill", "addcmul", "addcdiv", "lerp", "relu"}
NON_COMMUTATIVE = (cst.Subtract, cst.Divide, cst.MatrixMultiply, cst.Power, cst.FloorDivide, cst.Modulo)
DROPPABLE_TERM = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide)
FLIPPED = {cst.LessThan: cst.GreaterThan, cst.GreaterThan: cst.LessThan,
           cst.LessThanEqual: cst.GreaterThanEqual, cst.GreaterThanEqual: cst.LessThanEqual}
AUG_TO_BIN = {cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract, cst.MultiplyAssign: cst.Multiply,
              cst.DivideAssign: cst.Divide}
BIN_TO_AUG = {v: k for k, v in AUG_TO_BIN.items()}


def _int(node) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer):
        return -int(node.expression.value)
    return None


def _lit(v: int) -> cst.BaseExpression:
    return cst.Integer(str(v)) if v >= 0 else cst.UnaryOperation(cst.Minus(), cst.Integer(str(-v)))


def _method(node: cst.Call) -> str | None:
    return node.func.attr.value if isinstance(node.func, cst.Attribute) else None


def _name(func) -> str | None:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else None


def op_reduction_dim(node: cst.Call):
    """dim=k -> another dim, or none (reduce over everything); a reduction over everything -> over dim 0."""
    for i, arg in enumerate(node.args):
        if arg.keyword and arg.keyword.value in DIM_KEYWORDS:
            yield node.with_changes(args=[*node.args[:i], *node.args[i + 1:]])
            v = _int(arg.value)
            for w in (0, 1, -1):
                if v is not None and w != v:
                    yield node.with_changes(args=[*node.args[:i], arg.with_changes(value=_lit(w)), *node.args[i + 1:]])
    name = _name(node.func)
    if name in REDUCTIONS and _method(node) and not node.args:
        for w in (0, -1):
            yield node.with_changes(args=[cst.Arg(_lit(w), keyword=cst.Name("dim"),
                                                   equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))])


def op_swap_arguments(node: cst.Call):
    pos = [i for i, a in enumerate(node.args) if not a.keyword and not a.star]
    for i, j in zip(pos, pos[1:]):
        args = list(node.args)
        args[i], args[j] = args[i].with_changes(value=node.args[j].value), args[j].with_changes(value=node.args[i].value)
        yield node.with_changes(args=args)


def op_swap_operands(node: cst.BinaryOperation):
    if isinstance(node.operator, NON_COMMUTATIVE):
        yield node.with_changes(left=node.right, right=node.left)


def op_drop_term(node: cst.BinaryOperation):
    if isinstance(node.operator, DROPPABLE_TERM):
        yield _paren(node.left, node)
        yield _paren(node.right, node)


def _paren(expr, like):
    """``expr`` keeping ``like``'s parentheses, so that a dropped term never re-associates its neighbours."""
    return expr.with_changes(lpar=[*like.lpar, *expr.lpar], rpar=[*expr.rpar, *like.rpar]) if like.lpar else expr


def op_flip_comparison(node: cst.ComparisonTarget):
    flipped = FLIPPED.get(type(node.operator))
    if flipped:
        yield node.with_changes(operator=flipped())


def op_constant(node: cst.Integer | cst.Float):
    v = node.evaluated_value
    choices = (0, 1, -1, v - 1, -v) if isinstance(node, cst.Integer) else (0.0, 1.0, -v, v * 10, v / 10)
    seen = {v, v + 1}  # mutmut's operator_number makes v + 1
    for w in choices:
        if w in seen:
            continue
        seen.add(w)
        yield _lit(w) if isinstance(w, int) else (cst.Float(repr(w)) if w >= 0 else cst.UnaryOperation(cst.Minus(), cst.Float(repr(-w))))


def op_swap_name(node: cst.Attribute | cst.Name):
    attr = node.attr if isinstance(node, cst.Attribute) else node
    twin = SWAPPED_NAMES.get(attr.value)
    if twin:
        yield node.with_changes(attr=attr.with_changes(value=twin)) if isinstance(node, cst.Attribute) else node.with_changes(value=twin)


def op_drop_transpose(node: cst.Attribute):
    if node.attr.value in {"T", "mT"}:
        yield node.value


def op_drop_copy_or_move(node: cst.Call):
    """x.clone() / x.detach() -> x (no copy); x.to(device) / x.cpu() -> x (device or dtype not moved)."""
    if _method(node) in COPY_METHODS | MOVE_METHODS:
        yield node.func.value


def op_dtype_device(node: cst.Call):
    """dtype=... / device=... dropped, and a dtype taken from an input replaced by a fixed one."""
    for i, arg in enumerate(node.args):
        if arg.keyword and arg.keyword.value in {"dtype", "device"}:
            yield node.with_changes(args=[*node.args[:i], *node.args[i + 1:]])
            if arg.keyword.value == "dtype":
                for fixed in ("float32", "float64"):
                    new = cst.Attribute(cst.Name("torch"), cst.Name(fixed))
                    if not (isinstance(arg.value, cst.Attribute) and arg.value.attr.value == fixed):
                        yield node.with_changes(args=[*node.args[:i], arg.with_changes(value=new), *node.args[i + 1:]])


def op_inplace(node: cst.Call):
    """add_ -> add (a copy where the state must change in place) and add -> add_ (an input changed in place)."""
    name = _method(node)
    if not name or name.startswith("__"):
        return
    if name.endswith("_") and name[:-1]:
        yield node.with_changes(func=node.func.with_changes(attr=cst.Name(name[:-1])))
    elif name in INPLACE_TWINS:
        yield node.with_changes(func=node.func.with_changes(attr=cst.Name(name + "_")))


def op_augassign_copy(node: cst.AugAssign):
    """x -= v -> x = x - v: a new tensor where the statement needs the old one changed."""
    op = AUG_TO_BIN.get(type(node.operator))
    if op and isinstance(node.target, cst.Name):
        yield cst.Assign([cst.AssignTarget(node.target)],
                         cst.BinaryOperation(node.target, op(), node.value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])))


def op_assign_inplace(node: cst.Assign):
    """x = x - v -> x -= v: the caller's tensor changed in place."""
    if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name) and isinstance(node.value, cst.BinaryOperation):
        target, value = node.targets[0].target, node.value
        aug = BIN_TO_AUG.get(type(value.operator))
        if aug and isinstance(value.left, cst.Name) and value.left.value == target.value:
            yield cst.AugAssign(target, aug(), value.right)


TENSOR_OPERATORS = [
    (cst.Call, op_reduction_dim), (cst.Call, op_swap_arguments), (cst.BinaryOperation, op_swap_operands),
    (cst.BinaryOperation, op_drop_term), (cst.ComparisonTarget, op_flip_comparison),
    ((cst.Integer, cst.Float), op_constant), ((cst.Attribute, cst.Name), op_swap_name),
    (cst.Attribute, op_drop_transpose), (cst.Call, op_drop_copy_or_move), (cst.Call, op_dtype_device),
    (cst.Call, op_inplace), (cst.AugAssign, op_augassign_copy), (cst.Assign, op_assign_inplace),
]


class _Statements(cst.CSTVisitor):
    """Dropped statements: each statement of the region removed (``pass`` where its block would be empty)."""
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, lines):
        super().__init__()
        self.lines, self.found = lines, []

    def _inside(self, node) -> bool:
        pos = self.get_metadata(PositionProvider, node, None)
        return pos is not None and pos.start.line in self.lines and pos.end.line in self.lines

    def _drop(self, owner, body):
        for i, stmt in enumerate(body):
            if self._inside(stmt) and not _is_pass(stmt):
                rest = [*body[:i], *body[i + 1:]] or [cst.SimpleStatementLine([cst.Pass()])]
                self.found.append(("drop_statement", stmt, owner, owner.with_changes(body=rest)))

    def visit_IndentedBlock(self, node):
        self._drop(node, node.body)

    def visit_Module(self, node):
        self._drop(node, node.body)


def _is_pass(stmt) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Pass) for s in stmt.body)


class _MutmutOnRegion(MutationVisitor):
    """mutmut's visitor, except that decorated functions are mutated too: mutmut skips them only because its
    trampolines cannot copy a decorated function, and a mutant here is a whole cell of its own."""

    def _skip_node_and_children(self, node):
        if isinstance(node, cst.FunctionDef) and node.decorators:
            return False
        return super()._skip_node_and_children(node)


class _Ops(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, operators, lines):
        super().__init__()
        self.operators, self.lines, self.found = operators, lines, []

    def on_visit(self, node):
        if isinstance(node, (cst.Decorator, cst.Annotation)):
            return False
        pos = self.get_metadata(PositionProvider, node, None)
        if pos is not None and pos.start.line in self.lines:
            for kind, op in self.operators:
                if isinstance(node, kind):
                    for new in op(node):
                        self.found.append((op.__name__.removeprefix("op_"), node, node, new))
        return True


class _Scopes(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self):
        super().__init__()
        self.stack, self.spans = [], []

    def _enter(self, node):
        self.stack.append(node.name.value)
        pos = self.get_metadata(PositionProvider, node)
        self.spans.append((pos.start.line, pos.end.line, ".".join(self.stack)))

    def _leave(self, node):
        self.stack.pop()

    visit_FunctionDef = visit_ClassDef = _enter
    leave_FunctionDef = leave_ClassDef = _leave


def mutants_of(region: Region) -> list[Mutant]:
    """Every distinct, compilable mutant of one solution region, in a fixed order."""
    wrapper = MetadataWrapper(cst.parse_module(region.source))
    module, positions = wrapper.module, wrapper.resolve(PositionProvider)
    scopes = _Scopes()
    wrapper.visit(scopes)

    found: list[tuple[str, cst.CSTNode, cst.CSTNode, cst.CSTNode]] = []  # (operator, site, node replaced, new)
    for kind, op in mutation_operators:
        visitor = _MutmutOnRegion([(kind, op)], IgnoredCode(set(), set(), set()), covered_lines=set(region.lines))
        wrapper.visit(visitor)
        found += [("mutmut." + op.__name__.removeprefix("operator_"), m.original_node, m.original_node, m.mutated_node)
                  for m in visitor.mutations]
    ops = _Ops(TENSOR_OPERATORS, region.lines)
    wrapper.visit(ops)
    found += ops.found
    stmts = _Statements(region.lines)
    wrapper.visit(stmts)
    found += stmts.found

    out, seen, sites = [], {region.source}, {}
    for operator, old, target, new in found:  # a dropped statement replaces its block; its site is the statement
        text_old, text_new = module.code_for_node(old).strip(), "" if operator == "drop_statement" else _code(new)
        source = module.deep_replace(target, new).code
        if source in seen or not _compiles(source):
            continue
        seen.add(source)
        line = positions[old].start.line
        scope = next((name for a, b, name in reversed(scopes.spans) if a <= line <= b), "")
        site = (operator, scope, text_old, text_new)
        sites[site] = sites.get(site, -1) + 1
        key = "|".join([region.assignment, region.cell, *site, str(sites[site])])
        out.append(Mutant(hashlib.sha256(key.encode()).hexdigest()[:10], region.assignment, region.part,
                          region.cell, operator, line, diff_of(region.source, source), source,
                          _device_only(operator, module, old, new)))
    return out


DEVICE = re.compile(r"^(device\s*=\s*)?[\w.\[\]]*\bdevice$")  # device=..., X.device, device
MOVES_ONLY = re.compile(r"^[\w., ]+=\s*[\w.]+\.to\(device\)(\s*,\s*[\w.]+\.to\(device\))*$")


def _device_only(operator: str, module: cst.Module, old: cst.CSTNode, new: cst.CSTNode) -> bool:
    """Whether the mutant differs from the solution only in where a tensor lives: an argument naming the
    device dropped or set to None, a ``.to(device)`` dropped, or a statement made only of such moves dropped."""
    if operator == "drop_statement":
        return bool(MOVES_ONLY.match(module.code_for_node(old).strip()))
    if operator == "drop_copy_or_move":
        return _method(old) in MOVE_METHODS and any(DEVICE.match(module.code_for_node(a).strip().rstrip(",")) for a in old.args)
    if isinstance(old, cst.Call) and isinstance(new, cst.Call):
        before = [module.code_for_node(a).strip().rstrip(",") for a in old.args]
        after = [_code(a).rstrip(",") for a in new.args]
        gone = [a for a in before if a not in after]
        return len(gone) == 1 and bool(DEVICE.match(gone[0])) and _code(new.func) == module.code_for_node(old.func).strip()
    return False


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node).strip()


def _compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec")
    except SyntaxError:
        return False
    return True


def diff_of(old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
    return "\n".join(l for l in lines if not l.startswith(("---", "+++", "@@")))


def all_mutants(assignments) -> dict[str, list[Mutant]]:
    return {a: [m for r in regions(a) for m in mutants_of(r)] for a in assignments}
