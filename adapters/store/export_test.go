package store

// The combined send statements, for the plan test (sendbatch_plan_test.go).
var ClaimManySQL, FinishManySQL = claimManySQL, finishManySQL
