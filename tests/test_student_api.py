"""The `student` fixture's side-effect API behaves the same in-kernel and over the sandbox's wire.

A plain call cannot show a side effect in the sandbox (the child works on its own copies) nor a context
entered by the checker; `call_returning_inputs`, `call_under` and `optimizer_steps(return_state=True)` can.
"""
import pytest
import torch

from grader.engine.execute import Sandbox, SandboxStudent
from grader.student.selfcheck import LocalStudent, StudentError
from support import namespace_from

CELLS = [(0, '''
import torch

def scale_in_place(x, c):
    x.mul_(c)
    return x.sum()

def grad_enabled():
    return torch.is_grad_enabled()

class Momentum(torch.optim.Optimizer):
    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                buf = self.state[p].setdefault("velocity", torch.zeros_like(p))
                buf.mul_(0.5).add_(p.grad)
                self.state[p]["steps"] = self.state[p].get("steps", 0) + 1
                p.sub_(group["lr"] * buf)
''')]


@pytest.fixture(params=["in-kernel", "sandbox"])
def student(request, engine):
    if request.param == "in-kernel":
        yield LocalStudent(namespace_from(CELLS))
        return
    box = Sandbox(engine.ctx, CELLS, engine.place)
    box.start()
    yield SandboxStudent(box)
    box.close()


def test_an_in_place_edit_is_seen_through_call_returning_inputs(student):
    x = torch.arange(3.0)
    total, (after, c) = student.call_returning_inputs("scale_in_place", x, 2.0)
    assert float(total) == 6.0 and c == 2.0
    assert torch.equal(after, 2 * torch.arange(3.0)), "the input as the call left it"
    assert torch.equal(x, torch.arange(3.0)), "the checker's own tensor is never touched"


def test_a_context_is_entered_where_the_student_code_runs(student):
    assert student.call("grad_enabled") is True
    with torch.no_grad():  # the checker's context: in the sandbox it does not reach the child
        plain = student.call("grad_enabled")
    assert student.call_under("no_grad", "grad_enabled") is False
    assert student.call_under("inference_mode", "grad_enabled") is False
    assert isinstance(student, LocalStudent) or plain is True
    with pytest.raises((ValueError, StudentError)):
        student.call_under("torch.set_grad_enabled", "grad_enabled")


def test_optimizer_state_comes_back_with_its_dtypes(student):
    params = [torch.ones(2, dtype=torch.float64), torch.ones(3, dtype=torch.float32)]
    grads = [[torch.ones(2, dtype=torch.float64), torch.ones(3, dtype=torch.float32)]] * 2
    history, state = student.optimizer_steps("Momentum", params, grads, lr=0.1, return_state=True)
    assert len(history) == 2 and [s["steps"] for s in state] == [2, 2]
    assert [s["velocity"].dtype for s in state] == [torch.float64, torch.float32]
    assert torch.allclose(state[0]["velocity"], torch.full((2,), 1.5, dtype=torch.float64))
    assert isinstance(student.optimizer_steps("Momentum", params, grads, lr=0.1), list), "plain history without it"
