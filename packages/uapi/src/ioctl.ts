// Linux ioctl request encoding, as in include/uapi/asm-generic/ioctl.h
// (used unchanged by x86-64 and arm64). A request number packs four fields:
//
//   bits 31..30  dir   (_IOC_NONE 0, _IOC_WRITE 1, _IOC_READ 2)
//   bits 29..16  size  (sizeof the argument; 14 bits)
//   bits 15..8   type  (the "magic" byte, ';' for VFIO)
//   bits  7..0   nr    (the command number)
//
// VFIO uses only _IO (dir = 0, size = 0) on purpose: its structs carry their
// own length in `argsz`, so the request number never changes when a struct
// grows (see the comment above VFIO_TYPE in <linux/vfio.h>).

/** Width in bits of the `nr` field of a request number. */
export const _IOC_NRBITS = 8
/** Width in bits of the `type` field of a request number. */
export const _IOC_TYPEBITS = 8
/** Width in bits of the `size` field of a request number. */
export const _IOC_SIZEBITS = 14
/** Width in bits of the `dir` field of a request number. */
export const _IOC_DIRBITS = 2

/** Bit position of the `nr` field. */
export const _IOC_NRSHIFT = 0
/** Bit position of the `type` field. */
export const _IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS
/** Bit position of the `size` field. */
export const _IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS
/** Bit position of the `dir` field. */
export const _IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS

/** `dir` value: no data transfer. */
export const _IOC_NONE = 0
/** `dir` value: userspace writes, the kernel reads. */
export const _IOC_WRITE = 1
/** `dir` value: the kernel writes, userspace reads. */
export const _IOC_READ = 2

const mask = (bits: number): number => (1 << bits) - 1

/** An ioctl "type" (magic) argument: a one-character string such as `';'` or its char code. */
export type IocType = string | number

function typeCode(type: IocType): number {
  if (typeof type === 'number') return type
  if (type.length !== 1) throw new RangeError(`ioctl type must be one character, got ${JSON.stringify(type)}`)
  return type.charCodeAt(0)
}

function checkField(name: string, value: number, bits: number): void {
  if (!Number.isInteger(value) || value < 0 || value > mask(bits)) {
    throw new RangeError(`ioctl ${name} ${value} does not fit in ${bits} bits`)
  }
}

/**
 * Builds a request number from its four fields, like Linux's `_IOC(dir, type, nr, size)`.
 * The result is the unsigned 32-bit value (`>>> 0`), as userspace passes it to `ioctl(2)`.
 * @throws RangeError if a field does not fit its width.
 */
export function _IOC(dir: number, type: IocType, nr: number, size: number): number {
  const t = typeCode(type)
  checkField('dir', dir, _IOC_DIRBITS)
  checkField('type', t, _IOC_TYPEBITS)
  checkField('nr', nr, _IOC_NRBITS)
  checkField('size', size, _IOC_SIZEBITS)
  return ((dir << _IOC_DIRSHIFT) | (size << _IOC_SIZESHIFT) | (t << _IOC_TYPESHIFT) | (nr << _IOC_NRSHIFT)) >>> 0
}

/** `_IO(type, nr)`: a request with no argument size or direction (all VFIO requests). */
export function _IO(type: IocType, nr: number): number {
  return _IOC(_IOC_NONE, type, nr, 0)
}

/** `_IOR(type, nr, size)`: the kernel writes `size` bytes (pass `sizeof`, a number). */
export function _IOR(type: IocType, nr: number, size: number): number {
  return _IOC(_IOC_READ, type, nr, size)
}

/** `_IOW(type, nr, size)`: the kernel reads `size` bytes (pass `sizeof`, a number). */
export function _IOW(type: IocType, nr: number, size: number): number {
  return _IOC(_IOC_WRITE, type, nr, size)
}

/** `_IOWR(type, nr, size)`: both directions. */
export function _IOWR(type: IocType, nr: number, size: number): number {
  return _IOC(_IOC_READ | _IOC_WRITE, type, nr, size)
}

/** `_IOC_DIR(req)`: the direction field of a request number. */
export function _IOC_DIR(req: number): number {
  return (req >>> _IOC_DIRSHIFT) & mask(_IOC_DIRBITS)
}

/** `_IOC_TYPE(req)`: the type (magic) field of a request number. */
export function _IOC_TYPE(req: number): number {
  return (req >>> _IOC_TYPESHIFT) & mask(_IOC_TYPEBITS)
}

/** `_IOC_NR(req)`: the command-number field of a request number. */
export function _IOC_NR(req: number): number {
  return (req >>> _IOC_NRSHIFT) & mask(_IOC_NRBITS)
}

/** `_IOC_SIZE(req)`: the argument-size field of a request number. */
export function _IOC_SIZE(req: number): number {
  return (req >>> _IOC_SIZESHIFT) & mask(_IOC_SIZEBITS)
}
