"""fastvrrp.vrrp: the sans-IO VRRP state machine (RFC 5798/9568 §6, RFC 3768 §6).

    from fastvrrp.vrrp import InstanceParams, VrrpMachine, Startup
    machine = VrrpMachine(InstanceParams(name="VI_1", vrid=51))
    actions = machine.handle(now_ns, Startup())

kinds.py (states, timers, counters), params.py (per-instance parameters),
events.py / actions.py (what goes in and out), timers.py (RFC timer arithmetic),
priority.py (effective priority), rules.py (pure decisions the fast path mirrors),
machine.py (the machine), sync.py (sync groups: SyncGroup drives its members'
machines), sync_tracking.py (which trackers a sync-group member keeps).
"""

from .actions import (Action, AddVips, ArmTimer, CancelTimer, Count, FaultRecovered, GroupNotify,
                      Log, MasterWanted, Notify, PriorityUpdated, RemoveVips, SendAdvert, SendGarp,
                      SendSourceGarp, StateChanged, UpdateVips)
from .events import (AdvertReceived, AdvertRejected, Event, FaultCleared, FaultSet, PriorityChanged,
                     Reconfigure, Shutdown, SourceAddressChanged, Startup, SyncForceBackup, SyncForceFault,
                     SyncGoMaster, SyncHoldBackup, SyncLeaveFault, SyncStartup, TimerFired)
from .kinds import Counter, NotifyState, State, TimerKind
from .machine import VrrpMachine
from .params import InstanceParams
from .sync import Routed, SyncGroup, SyncGroupError

__all__ = [
    "Action", "AddVips", "ArmTimer", "CancelTimer", "Count", "Log", "Notify", "PriorityUpdated",
    "RemoveVips", "SendAdvert", "SendGarp", "SendSourceGarp", "StateChanged", "UpdateVips",
    "AdvertReceived", "AdvertRejected", "Event", "FaultCleared", "FaultSet", "PriorityChanged",
    "Reconfigure", "Shutdown", "SourceAddressChanged", "Startup", "TimerFired",
    "Counter", "NotifyState", "State", "TimerKind", "VrrpMachine", "InstanceParams",
    "FaultRecovered", "GroupNotify", "MasterWanted", "SyncForceBackup", "SyncForceFault",
    "SyncGoMaster", "SyncHoldBackup", "SyncLeaveFault", "SyncStartup",
    "Routed", "SyncGroup", "SyncGroupError",
]
