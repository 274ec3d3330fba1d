#!/usr/bin/env node
/**
 * The `vfio-sim` command line:
 *   vfio-sim run <files|dirs>…    run scenarios (TAP off a terminal, pretty on one, --json)
 *   vfio-sim check <files|dirs>…  validate only
 *   vfio-sim asm <file.s>          assemble PL330 microcode
 *   vfio-sim disasm <file.bin>     disassemble PL330 microcode
 *   vfio-sim boards                list boards and profiles
 *   vfio-sim repl                  the step language, one line at a time
 * Exit status: 0 success, 1 a failed expectation, 2 a malformed file or bad usage.
 */
import { main } from './cli-main.ts'

process.exitCode = await main(process.argv.slice(2), {
  stdout: s => process.stdout.write(s),
  stderr: s => process.stderr.write(s),
  isTTY: process.stdout.isTTY === true,
  env: process.env,
  stdin: process.stdin,
})
