"""Drives the installed tsparallel kernelspec with jupyter_client: a cell, interrupt by message,
restart_kernel, and a cell after the restart. Prints one JSON line of observations."""

import json
import time

from jupyter_client.manager import start_new_kernel

km, kc = start_new_kernel(kernel_name="tsparallel", startup_timeout=60)
out = {}
try:
    r = kc.execute_interactive("const before = 40 + 2; before", timeout=60)
    out["before"] = r["content"]["status"]
    msg_id = kc.execute("while (true) {}")
    time.sleep(1.0)  # let the loop start; the outcome does not depend on this
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=30)
    out["interrupted"] = reply["content"]["status"]
    r = kc.execute_interactive("before + 1", timeout=60)
    out["after_interrupt"] = r["content"]["status"]
    old_pid = km.provisioner.process.pid
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=60)
    out["new_process"] = km.provisioner.process.pid != old_pid
    results = []
    r = kc.execute_interactive(
        "typeof (globalThis as any).before", timeout=60, output_hook=lambda m: results.append(m)
    )
    out["after_restart"] = r["content"]["status"]
    out["state_cleared"] = any(
        m["msg_type"] == "execute_result" and m["content"]["data"]["text/plain"] == "'undefined'" for m in results
    )
finally:
    proc = km.provisioner.process if km.provisioner else None
    kc.stop_channels()
    km.shutdown_kernel(now=False)  # shutdown_request first; jupyter_client kills only on timeout
    out["exit_code"] = proc.wait(timeout=10) if proc else None
print("\nRESULT " + json.dumps(out))
