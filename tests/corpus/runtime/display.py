# Databricks notebook source
display([1, 2, 3])
displayHTML("<b>hi</b>")
print("spark is", type(spark).__name__)
