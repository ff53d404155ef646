"""The running part every Modbus simulator shares: a device model on a loopback server."""

from __future__ import annotations

from typing import Generic, Protocol, Self, TypeVar

from drivers.simulators.base import Fault
from drivers.transports.modbus import RegisterModel, RegisterServer

__all__ = ["FaultableRegisterModel", "ModbusSimulator"]


class FaultableRegisterModel(RegisterModel, Protocol):
    """A simulated Modbus device that can also be told to misbehave."""

    def inject(self, fault: Fault) -> None:
        """Arm a fault on the coming requests."""
        ...

    def clear_faults(self) -> None:
        """Disarm every fault."""
        ...


M = TypeVar("M", bound=FaultableRegisterModel)


class ModbusSimulator(Generic[M]):
    """A device model served over Modbus TCP on loopback (a :class:`RunningSimulator`).

    Subclasses say what the driver's address is (``address``); the plain Modbus
    address of the server is :attr:`modbus_address`.
    """

    def __init__(self, model: M, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.model = model
        self._server = RegisterServer(model, host=host, port=port)

    @property
    def modbus_address(self) -> str:
        """The plain ``modbus-tcp://`` address of the server."""
        return self._server.address

    @property
    def address(self) -> str:
        """The address a driver opens (subclasses add their options)."""
        return self._server.address

    def start(self) -> Self:
        """Serve in the background; returns self."""
        self._server.start()
        return self

    def inject(self, fault: Fault) -> None:
        """Arm a fault on the coming requests."""
        self.model.inject(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.model.clear_faults()

    def stop(self) -> None:
        """Stop serving and close every connection; idempotent."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
