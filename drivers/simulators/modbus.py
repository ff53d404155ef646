"""The running part every Modbus simulator shares: a device model on a loopback server.

The model is served by a :class:`~drivers.transports.modbus.RegisterServer` on an
ephemeral loopback port, behind a :class:`~drivers.simulators.modbus_faults.ModbusFaultProxy`
on the simulator's own address, so that every fault a driver must survive can be made:
the model answers late, never, or with an exception response (``timeout``, ``late``,
``device-error``); the proxy garbles, truncates or cuts off its answers on the wire
(``garbled``, ``truncated``, ``disconnect``).
"""

from __future__ import annotations

from typing import Generic, Protocol, Self, TypeVar

from drivers.simulators.base import Fault
from drivers.simulators.modbus_faults import WIRE_FAULTS, ModbusFaultProxy
from drivers.transports.modbus import RegisterModel, RegisterServer

__all__ = ["FaultableRegisterModel", "ModbusSimulator"]


class FaultableRegisterModel(RegisterModel, Protocol):
    """A simulated Modbus device that can also be told to misbehave."""

    def inject(self, fault: Fault) -> None:
        """Arm a ``timeout``, ``late`` or ``device-error`` fault on the coming requests."""
        ...

    def clear_faults(self) -> None:
        """Disarm every fault."""
        ...

    def is_measurement(self, function: int, address: int) -> bool:
        """True for a request that reads a measured value (faults aimed at readings)."""
        ...


M = TypeVar("M", bound=FaultableRegisterModel)


class ModbusSimulator(Generic[M]):
    """A device model served over Modbus TCP on loopback (a :class:`RunningSimulator`).

    Subclasses say what the driver's address is (``address``); the plain Modbus
    address of the simulator is :attr:`modbus_address`.
    """

    def __init__(self, model: M, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.model = model
        self._server = RegisterServer(model)
        try:
            self._proxy = ModbusFaultProxy(
                ("127.0.0.1", self._server.port),
                is_measurement=model.is_measurement,
                host=host,
                port=port,
            )
        except BaseException:
            self._server.stop()
            raise

    @property
    def modbus_address(self) -> str:
        """The plain ``modbus-tcp://`` address of the simulated device (unit 1)."""
        return f"modbus-tcp://{self._proxy.host}:{self._proxy.port}?unit=1"

    @property
    def address(self) -> str:
        """The address a driver opens (subclasses add their options)."""
        return self.modbus_address

    def start(self) -> Self:
        """Serve in the background; returns self."""
        self._server.start()
        self._proxy.start()
        return self

    def start_with(self, fault: Fault | None) -> Self:
        """Arm ``fault`` (if any) and start; the simulator is stopped if that fails."""
        try:
            if fault is not None:
                self.inject(fault)
        except BaseException:
            self.stop()
            raise
        return self.start()

    def inject(self, fault: Fault) -> None:
        """Arm a fault on the coming requests (any :class:`~drivers.simulators.base.FaultKind`)."""
        if fault.kind in WIRE_FAULTS:
            self._proxy.inject(fault)
        else:
            self.model.inject(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._proxy.clear_faults()
        self.model.clear_faults()

    def stop(self) -> None:
        """Stop serving and close every connection; idempotent."""
        try:
            self._proxy.stop()
        finally:
            self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
