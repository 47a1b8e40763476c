"""fastvrrp.track: what decides a VRRP instance's priority and FAULT besides the wire.

runner.py    run external programs on the loop (process group, timeout kill, reaping)
risefall.py  the rise/fall state machine of one vrrp_script
scripts.py   vrrp_script tracking: periodic runs, skip-if-running, OK/KO reports
security.py  keepalived's script checks: script user, PATH, realpath, insecure paths
files.py     track_file (inotify); links.py track_interface (netlink events)
processes.py vrrp_track_process (procconn.py: the kernel's process events; procfs.py: /proc)
registry.py  what every tracker shares: index by name, look up, report a change
aggregate.py per-instance priority / FAULT from the trackers' states

Nothing here computes priorities: trackers report states and the daemon
turns them into weights and FAULT (fastvrrp.vrrp.priority).
"""
