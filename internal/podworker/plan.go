package podworker

import "github.com/podrun/podrun/internal/lifecycle"

// defaultPlan is the planner a Worker uses unless Config.Plan overrides it.
var defaultPlan PlanFunc = lifecycle.Plan
