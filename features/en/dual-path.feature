@ci @nightly
Feature: Two routers, a primary and a backup path
  r1 and r2 run OSPF over a primary path (cost 10) and a backup path (cost 100) between two LANs.
  tsunagari manages both routers over SSH: every configuration it pushes is confirmed through a new
  management session, and rolled back (and compared with its snapshot) after the scenario.

  Background:
    Given the lab "dual-path" is up

  Scenario: OSPF forms on both paths and the primary carries the traffic
    Then the router r1 has OSPF neighbour 10.12.0.2 in state Full
    And the router r1 has OSPF neighbour 10.12.1.2 in state Full
    And the router r1 has a route to 10.2.0.0/24 via 10.12.0.2
    And h1 can reach h2 within 10 s
    And the reachability is:
      | from \ to | h1 | h2 | r1 | r2 |
      | h1        | -  | ok | ok | ok |
      | h2        | ok | -  | ok | ok |

  Scenario: A pulled cable on the primary fails over at once (carrier loss)
    Given the router r1 has a route to 10.2.0.0/24 via 10.12.0.2
    And h1 keeps probing h2 every 10 ms
    When the link primary goes down
    Then connectivity recovers within 5 s
    And the outage lasts at most 2 s
    And the router r1 has a route to 10.2.0.0/24 via 10.12.1.2

  Scenario: A silent cut without BFD waits for the OSPF dead interval
    Given the router r1 has a route to 10.2.0.0/24 via 10.12.0.2
    And h1 keeps probing h2 every 10 ms
    When the link primary silently drops all traffic
    Then connectivity recovers within 10 s
    And the outage lasts at most 6 s
    And the router r1 has a route to 10.2.0.0/24 via 10.12.1.2

  Scenario: With BFD the same silent cut fails over in well under a second
    When the router r1 is configured with "fixtures/frr/dual-path/r1-bfd.conf"
    And the router r2 is configured with "fixtures/frr/dual-path/r2-bfd.conf"
    Then the router r1 has BFD neighbour 10.12.0.2 in state up
    And the router r1 has a route to 10.2.0.0/24 via 10.12.0.2
    Given h1 keeps probing h2 every 10 ms
    When the link primary silently drops all traffic
    Then connectivity recovers within 5 s
    And the outage lasts at most 1500 ms
    And at most 150 probes are lost

  Scenario: A cheaper backup path moves the traffic, and the change is rolled back afterwards
    When the router r1 is configured with:
      """
      interface eth3
       ip ospf cost 5
      """
    And the router r2 is configured with:
      """
      interface eth3
       ip ospf cost 5
      """
    Then the router r1 has a route to 10.2.0.0/24 via 10.12.1.2
    And h1 can reach h2

  Scenario: The previous scenario's changes are gone: the primary carries the traffic again
    Then the router r1 has a route to 10.2.0.0/24 via 10.12.0.2

  Scenario: A configuration that cuts the management session is reverted by commit-confirm
    Then pushing this configuration to the router r1 is reverted:
      """
      interface mgmt0
       shutdown
      """
    And the router r1 is still reachable for management
    And the router r1 has OSPF neighbour 10.12.0.2 in state Full
