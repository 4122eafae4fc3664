"""Regenerate the regression submissions of sheet 5 (tests/submissions/05_backprop/): the
feedback must name the right mistake (issue 11), and the grade must not depend on the seed.

Run: .venv/bin/python tests/submissions/make_05_backprop.py   (after changing sheet 5).
Expected grades are in tests/test_grader_feedback.py (EXPECT_05)."""
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from nngrade.generate import student_notebook  # noqa: E402
from nngrade.sheet import load_sheet, role_of  # noqa: E402

OUT = ROOT / "tests" / "submissions" / "05_backprop"
OUT.mkdir(parents=True, exist_ok=True)
for p in OUT.iterdir():
    p.unlink()
sheet = load_sheet(ROOT / "exercises" / "source" / "05_backprop.ipynb")
REF = {q.id: q.solution for q in sheet.questions.values()}


def write(name, answers):
    nb = student_notebook(sheet)
    for cell in nb.cells:
        meta = role_of(cell)
        if meta.get("role") == "answer":
            cell.source = textwrap.dedent(answers.get(meta["question"], REF[meta["question"]])).strip("\n")
    nbformat.write(nb, str(OUT / f"{name}.ipynb"))


write("honest", {})
# forgot the mean with K > 1 outputs: N*K times too large (not "a constant factor 8")
write("forgot_mean_k_outputs", {"q1": """
    def output_delta(A, Y):
        return 2.0 * (A - Y) * A * (1.0 - A)
"""})
# divided by N instead of N*K: K times too large (not "batch size N = 3", a weight dimension);
# fails the same hidden tests (K = 2 and K = 3) whatever the seed
write("n_instead_of_nk", {"q1": """
    def output_delta(A, Y):
        return 2.0 * (A - Y) / A.shape[0] * A * (1.0 - A)
"""})
write("n_instead_of_nk_inline", {"q3": """
    def backward_two_layer(X, Y, W1, b1, W2, b2):
        A1 = np.tanh(X @ W1 + b1)
        A2 = sigmoid(A1 @ W2 + b2)
        delta2 = 2.0 * (A2 - Y) / len(Y) * A2 * (1.0 - A2)
        dW2, db2, dA1 = dense_backward(A1, W2, delta2)
        delta1 = dA1 * (1.0 - A1 ** 2)
        dW1, db1, _ = dense_backward(X, W1, delta1)
        return [dW1, db1, dW2, db2]
"""})
# float32: right formula, single precision
write("float32", {"q1": """
    def output_delta(A, Y):
        A, Y = A.astype(np.float32), Y.astype(np.float32)
        return 2.0 * (A - Y) / A.size * A * (1.0 - A)
"""})
# a mistake in q1 must not hide q3's diagnosis: q3 is right but calls the wrong output_delta
write("mistake_in_q1_only", {"q1": """
    def output_delta(A, Y):
        return 2.0 * (Y - A) / A.size * A * (1.0 - A)
"""})
# five items where three are asked
write("extra_items", {"q2": """
    def dense_backward(A_prev, W, delta):
        return [A_prev.T @ delta, delta.sum(axis=0), delta @ W.T, W, delta]
"""})
# a tuple instead of a list is fine
write("tuple_instead_of_list", {"q2": """
    def dense_backward(A_prev, W, delta):
        return (A_prev.T @ delta, delta.sum(axis=0), delta @ W.T)
"""})
print(sorted(p.name for p in OUT.iterdir()))
