"""``view2d``: a (rows, cols) view of a slice of a flat buffer, cheap enough for compiled loops.

Low-level plumbing of :mod:`nnlib.kernels`, not part of the mathematics: the kernels keep every
weight matrix and every layer's activations in flat float64 buffers and look at one block of them
at a time as a matrix.
"""
from __future__ import annotations

from numba import config, njit, types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array


@intrinsic
def _view2d(typingctx, buf, offset, rows, cols):
    """Compiled-code-only ``buf[offset:offset + rows*cols].reshape(rows, cols)`` for a C-contiguous
    1-D ``buf``: fills in the array header (data pointer, shape, strides) directly and shares
    ``buf``'s memory owner. Numba's general ``reshape`` calls a C helper on every use, which costs
    more than the whole forward pass of a tiny network such as 2-4-1."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"):
        return None  # typing error: only for 1-D C-contiguous buffers
    ret = types.Array(buf.dtype, 2, "C")

    def codegen(context, builder, sig, args):
        src = make_array(sig.args[0])(context, builder, args[0])
        dst = make_array(ret)(context, builder)
        o, r, c = (context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], sig.args[1:]))
        item = context.get_constant(types.intp,
                                    context.get_abi_sizeof(context.get_data_type(buf.dtype)))
        populate_array(dst, data=builder.gep(src.data, [o]), shape=[r, c],
                       strides=[builder.mul(c, item), item], itemsize=item,
                       meminfo=src.meminfo, parent=None)
        return impl_ret_borrowed(context, builder, ret, dst._getvalue())

    return ret(buf, offset, rows, cols), codegen


if config.DISABLE_JIT:  # plain Python (NUMBA_DISABLE_JIT=1): intrinsics exist only when compiled
    def view2d(buf, offset, rows, cols):
        """Return ``buf[offset:offset + rows*cols]`` as a (rows, cols) C-contiguous view."""
        return buf[offset:offset + rows * cols].reshape(rows, cols)
else:
    @njit(cache=True)
    def view2d(buf, offset, rows, cols):
        """Return ``buf[offset:offset + rows*cols]`` as a (rows, cols) C-contiguous view."""
        return _view2d(buf, offset, rows, cols)
