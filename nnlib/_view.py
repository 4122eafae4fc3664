"""``view2d`` and ``view1d``: views of a slice of a flat buffer, cheap enough for compiled loops.

Low-level plumbing of :mod:`nnlib.kernels`, not part of the mathematics: the kernels keep every
weight matrix and every layer's activations in flat buffers (float64 or float32) and look at one
block of them at a time as a matrix or a vector.

The views are *borrowed*: they carry no reference to the buffer's memory owner, so making and
dropping one costs no reference counting (an atomic increment and decrement per view, which cost
XOR's 2-4-1 epoch about a third of its time). They are valid only while the buffer is alive, i.e.
inside the compiled call that received the buffer; a kernel never returns one or stores it.
"""
from __future__ import annotations

from numba import config, njit, types
from numba.core.imputils import impl_ret_untracked
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array


def _codegen_view(ndim: int):
    def codegen(context, builder, sig, args):
        buf = sig.args[0]
        ret = sig.return_type
        src = make_array(buf)(context, builder, args[0])
        dst = make_array(ret)(context, builder)
        o, *dims = (context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], sig.args[1:]))
        item = context.get_constant(types.intp,
                                    context.get_abi_sizeof(context.get_data_type(buf.dtype)))
        strides = [builder.mul(dims[1], item), item] if ndim == 2 else [item]
        populate_array(dst, data=builder.gep(src.data, [o]), shape=dims, strides=strides,
                       itemsize=item, meminfo=None, parent=None)
        return impl_ret_untracked(context, builder, ret, dst._getvalue())
    return codegen


@intrinsic
def _view2d(typingctx, buf, offset, rows, cols):
    """Compiled-code-only ``buf[offset:offset + rows*cols].reshape(rows, cols)`` for a C-contiguous
    1-D ``buf``: fills in the array header (data pointer, shape, strides) directly, with no memory
    owner (a borrowed view). Numba's general ``reshape`` calls a C helper on every use, which costs
    more than the whole forward pass of a tiny network such as 2-4-1."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"):
        return None  # typing error: only for 1-D C-contiguous buffers
    return types.Array(buf.dtype, 2, "C")(buf, offset, rows, cols), _codegen_view(2)


@intrinsic
def _view1d(typingctx, buf, offset, n):
    """Compiled-code-only ``buf[offset:offset + n]`` for a C-contiguous 1-D ``buf``, borrowed."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"):
        return None
    return types.Array(buf.dtype, 1, "C")(buf, offset, n), _codegen_view(1)


if config.DISABLE_JIT:  # plain Python (NUMBA_DISABLE_JIT=1): intrinsics exist only when compiled
    def view2d(buf, offset, rows, cols):
        """Return ``buf[offset:offset + rows*cols]`` as a (rows, cols) C-contiguous view."""
        return buf[offset:offset + rows * cols].reshape(rows, cols)

    def view1d(buf, offset, n):
        """Return ``buf[offset:offset + n]``."""
        return buf[offset:offset + n]
else:
    @njit(cache=True)
    def view2d(buf, offset, rows, cols):
        """Return ``buf[offset:offset + rows*cols]`` as a (rows, cols) C-contiguous borrowed view."""
        return _view2d(buf, offset, rows, cols)

    @njit(cache=True)
    def view1d(buf, offset, n):
        """Return ``buf[offset:offset + n]`` as a borrowed view."""
        return _view1d(buf, offset, n)
