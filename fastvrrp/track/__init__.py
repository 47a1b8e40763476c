"""fastvrrp.track: what decides a VRRP instance's priority and FAULT besides the wire.

runner.py    run external programs on the loop (process group, timeout kill, reaping)
risefall.py  the rise/fall state machine of one vrrp_script
scripts.py   vrrp_script tracking: periodic runs, skip-if-running, OK/KO reports
security.py  keepalived's script checks: script user, PATH, realpath, insecure paths

Nothing here computes priorities: trackers report states and the daemon
turns them into weights and FAULT (fastvrrp.vrrp.priority).
"""
