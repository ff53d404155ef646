"""caltrace's simulated benches: the simulators of a bench's roles, coupled through one
physical world, with the people who work at it.

For the demo, the test suite and anyone trying caltrace without hardware, the agent runs a
procedure against simulators instead of instruments (``caltrace-agent run --simulate``).
Each simulator of :mod:`drivers.simulators` already stands for its instrument on the real
transport (TCP socket, pseudo-terminal, Modbus TCP), and the real driver is opened on it.
What this package adds is the **coupling**: the instruments of a bench see the same
physical world, so what the calibrator sources is what the meter measures, the weights the
operator places are what the balance weighs, the controller's pressure is what the gauge
shows, the bath's temperature is what the thermometers read, the volume through the rig is
what the meters register.

* :mod:`simulation.world` — :class:`~simulation.world.SimulatedWorld`, the physical state
  (thread-safe), and :class:`~simulation.world.SimulatedTime`, the runner's clock that
  skips the waits;
* **actuators** write the world: the calibrator's output, the pressure controller and the
  bath (read live from their simulator models), and the
  :class:`~simulation.people.SimulatedOperator`, who carries out the runner's instructions
  (place a load, run a flow);
* **sensors** read it at the moment they answer, each with its own error model,
  deterministic for a given seed; an instrument read by eye is typed at the manual-entry
  prompt by a :class:`~simulation.people.SimulatedTypist`;
* a module per instrument family holds its error profiles and couplings:
  :mod:`simulation.electrical` (calibrator, DMM), :mod:`simulation.mass` (balance),
  :mod:`simulation.pressure` (controller, gauge), :mod:`simulation.temperature` (bath,
  PRT, thermometers), :mod:`simulation.flow` (reference meter, water meter),
  :mod:`simulation.fuel` (a fuel dispenser, its proving cans and the fuel's thermometer),
  :mod:`simulation.energy` (an electricity-meter test bench and the meters at its
  positions);
* :mod:`simulation.bench` — :class:`~simulation.bench.SimulatedBench` starts one simulator
  per role on loopback (ephemeral ports), opens the real driver on it, wires the coupling,
  and is a :class:`procedures.bench.Bench`.

A sketch of a run (``roles`` as the bench configuration gives them)::

    world = SimulatedWorld(seed=1)
    with SimulatedBench(roles, world) as bench:
        operator = SimulatedOperator(world)
        ...  # the procedure runner drives ``bench`` and ``operator``

A plain library: it uses :mod:`drivers` (the simulators and the real drivers opened on
them) and the bench protocol of :mod:`procedures`, never the agent, Django or the LIMS.
Importing the package imports none of its modules.
"""
