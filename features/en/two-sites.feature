@lab:two-sites @ci
Feature: Two sites on one L2 segment over a VXLAN overlay (VNI 77)

  Scenario: Hosts of both sites share one subnet across the overlay
    Then the reachability is:
      | from \ to | client | a2 | server | b2 |
      | client    | -      | ok | ok     | ok |
      | server    | ok     | ok | -      | ok |

  Scenario: Losing the overlay separates the sites but not the hosts of one site
    When the link overlay goes down
    Then client cannot reach server
    And client can reach a2
    When the link overlay comes back up
    Then client can reach server within 5 s
